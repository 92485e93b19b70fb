/**
 * The daemon command's handler, loaded only when the command runs: turn the
 * parsed options into a configuration and run the daemon.
 */
import { expected } from '../errors.js';
import type { Io } from '../io/io.js';
import { ConfigError, daemonConfig, type DaemonArgs } from './config.js';
import { runDaemon, type DaemonIo } from './main.js';

export async function daemonCommand(a: Record<string, unknown>, io: Io, daemonIo: DaemonIo = {}): Promise<number> {
  let cfg;
  try {
    cfg = daemonConfig(a as DaemonArgs, io.env);
  } catch (err) {
    expected(err, ConfigError);
    io.err(`qrexec-policy-daemon: ${err.message}\n`);
    return 2;
  }
  return runDaemon(cfg, daemonIo);
}

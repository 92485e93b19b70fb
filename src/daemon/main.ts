/**
 * `qrexec-policy-daemon` / `qrexec-policy daemon`: start serving (in this
 * process, or as a cluster of workers), stop on SIGTERM or SIGINT, re-read
 * everything on SIGHUP, and resolve with the exit status.
 */
import type { Logger } from '../log.js';
import { runWorker, startCluster, workerConfig, type ClusterOptions } from './cluster.js';
import type { DaemonConfig } from './config.js';
import { TransitionLog } from './health.js';
import { daemonLogger, lineWriter } from './log.js';
import { serve, type Running } from './serve.js';

export interface DaemonIo {
  /** Overrides the winston logger built from the configuration (tests). */
  log?: Logger;
  cluster?: ClusterOptions;
  /** Called once the daemon is up (tests). */
  started?: (running: Running) => void;
}

export async function runDaemon(options: DaemonConfig, io: DaemonIo = {}): Promise<number> {
  // a worker process serves with what its primary was given
  const asWorker = workerConfig();
  const cfg = asWorker ?? options;
  const own = io.log === undefined ? await daemonLogger(cfg.logLevel, lineWriter(cfg.logFile)) : null;
  const log = io.log ?? own!;
  const running =
    asWorker !== null
      ? runWorker(cfg, log)
      : cfg.workers > 1
        ? startCluster(cfg, log, io.cluster)
        : serve(cfg, log, new TransitionLog(log).note, { primary: true });
  const stop = () => running.stop();
  const reload = () => running.reload();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', reload);
  io.started?.(running);
  try {
    return await running.done;
  } finally {
    own?.flush();
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    process.off('SIGHUP', reload);
  }
}

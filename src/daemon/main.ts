/**
 * `qrexec-policy-daemon` / `qrexec-policy daemon`: start serving (in this
 * process, or as a cluster of workers), stop on SIGTERM or SIGINT, re-read
 * everything on SIGHUP, and resolve with the exit status.
 *
 * A stop signal ends the process within STOP_GRACE_MS however it is doing:
 * something still pending then (a person yet to answer an `ask`, a policy
 * agent that hangs) does not keep it alive.
 */
import type { Logger } from '../log.js';
import { runWorker, startCluster, STOP_GRACE_MS, workerSetup, type ClusterOptions } from './cluster.js';
import type { DaemonConfig } from './config.js';
import { TransitionLog } from './health.js';
import { daemonLogger, guardStdio, lineWriter } from './log.js';
import { serve, type Running } from './serve.js';

export interface DaemonIo {
  /** Overrides the winston logger built from the configuration (tests). */
  log?: Logger;
  cluster?: ClusterOptions;
  /** Called once the daemon is up (tests). */
  started?: (running: Running) => void;
  /**
   * Ends the process with this status, once the daemon has stopped, or
   * STOP_GRACE_MS after a stop signal if it has not (default process.exit;
   * tests that run the daemon in their own process pass a no-op).
   */
  exit?: (status: number) => void;
}

export async function runDaemon(options: DaemonConfig, io: DaemonIo = {}): Promise<number> {
  // a worker process serves with what its primary was given
  const asWorker = workerSetup();
  const cfg = asWorker?.cfg ?? options;
  const unguard = guardStdio();
  const own = io.log === undefined ? await daemonLogger(cfg.logLevel, lineWriter(cfg.logFile)) : null;
  const log = io.log ?? own!;
  /* c8 ignore next -- ends the process: the tests that run the real daemon process exercise it */
  const exit = io.exit ?? ((status: number) => process.exit(status));
  const running =
    asWorker !== null
      ? runWorker(asWorker, log)
      : cfg.workers > 1
        ? startCluster(cfg, log, io.cluster)
        : serve(cfg, log, new TransitionLog(log).note, { primary: true });
  let deadline: NodeJS.Timeout | null = null;
  const stop = () => {
    running.stop();
    /* c8 ignore next 5 -- only when stopping hangs (a stuck system call, a bug): nothing the tests can make hang */
    deadline ??= setTimeout(() => {
      log.log('error', `still stopping ${STOP_GRACE_MS} ms after the signal; exiting`);
      own?.flush();
      exit(0);
    }, STOP_GRACE_MS + 100);
  };
  const reload = () => running.reload();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', reload);
  io.started?.(running);
  let status: number;
  try {
    status = await running.done;
  } finally {
    if (deadline !== null) clearTimeout(deadline);
    own?.flush();
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    process.off('SIGHUP', reload);
    unguard();
  }
  // what the daemon left pending (an ask, a notification) must not keep the process alive
  exit(status);
  return status;
}

/**
 * One serving process: load the policy and system info, listen, answer,
 * and stop cleanly. The daemon runs this in its own process, or in each of
 * its worker processes (cluster.ts).
 */
import type { Logger } from '../log.js';
import type { DaemonConfig } from './config.js';
import { internalError, type Services } from './decide.js';
import type { NoteTransition } from './health.js';
import { DaemonServers, DaemonStartError, removeStaleSocket } from './server.js';
import { policySource, systemInfoFile, systemInfoFromQubesd } from './sources.js';

/** A running daemon (one process or a cluster of them). */
export interface Running {
  /** Resolves once every socket accepts connections; rejects with a DaemonStartError. */
  ready: Promise<void>;
  /** Resolves with the exit status once the daemon has stopped. */
  done: Promise<number>;
  /** Stop serving (SIGTERM). */
  stop(): void;
  /** Read the policy and system info again before the next answer (SIGHUP). */
  reload(): void;
}

export function endpointPaths(cfg: DaemonConfig): string[] {
  return [cfg.socketPath, cfg.evalSocketPath, cfg.guiSocketPath].filter((p) => p !== '');
}

export interface ServeOptions {
  /**
   * Remove stale sockets first, say when listening, and why listening failed
   * (not in workers: the primary does all that; a worker would remove a live socket).
   */
  primary: boolean;
}

export function serve(cfg: DaemonConfig, log: Logger, noteState: NoteTransition, opts: ServeOptions): Running {
  const note: NoteTransition = (t) => {
    log.log('debug', `${t.subject} read: ${t.error ?? t.summary}`);
    noteState(t);
  };
  const svc: Services = {
    policy: policySource(cfg.paths, cfg.legacyPath, note),
    systemInfo: cfg.systemInfo !== null ? systemInfoFile(cfg.systemInfo, note) : systemInfoFromQubesd(cfg.qubesdInternalSocket),
    agent: cfg.agent,
    log,
  };
  const servers = new DaemonServers(svc, cfg);
  let finish!: (status: number) => void;
  const done = new Promise<number>((resolve) => (finish = resolve));
  let stopping: Promise<void> | null = null;
  const stop = (status: number) => {
    stopping ??= servers.close().then(() => {
      svc.policy.close();
      svc.systemInfo.close();
      finish(status);
    });
  };
  const ready = (async () => {
    if (opts.primary) for (const p of endpointPaths(cfg)) removeStaleSocket(p);
    // load before listening: the first request is answered at full speed, and a broken policy is logged at once
    svc.policy.get();
    if (cfg.systemInfo !== null) svc.systemInfo.get();
    await servers.listen();
  })();
  ready.then(
    () => {
      if (opts.primary) log.log('info', `listening on ${endpointPaths(cfg).join(', ')}`);
    },
    (err: unknown) => {
      // a worker leaves the telling to its primary
      if (!(err instanceof DaemonStartError)) internalError(log, err);
      else if (opts.primary) log.log('error', err.message);
      stop(1);
    },
  );
  return {
    ready,
    done,
    stop: () => stop(0),
    reload: () => {
      svc.policy.invalidate();
      svc.systemInfo.invalidate();
    },
  };
}

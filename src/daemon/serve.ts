/**
 * One serving process: load the policy and system info, listen, answer,
 * and stop cleanly. The daemon runs this in its own process, or in each of
 * its worker processes (cluster.ts).
 */
import type { Logger } from '../log.js';
import type { DaemonConfig } from './config.js';
import { internalError, type Services } from './decide.js';
import type { NoteTransition } from './health.js';
import { DaemonServers, DaemonStartError } from './server.js';
import { SocketPaths } from './sockets.js';
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
   * Take the socket paths over (refuse a live daemon's, replace stale ones,
   * remove ours on stop), say when listening, and why listening failed. Not
   * in workers: the primary does all that.
   */
  primary: boolean;
  /** In a worker: the primary's process id, which names the sockets it binds (sockets.ts). */
  owner?: number;
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
  const sockets = new SocketPaths(endpointPaths(cfg), opts.owner);
  const servers = new DaemonServers(svc, cfg);
  let finish!: (status: number) => void;
  const done = new Promise<number>((resolve) => (finish = resolve));
  let stopping: Promise<void> | null = null;
  const stop = (status: number) => {
    stopping ??= servers.close().then(() => {
      svc.policy.close();
      svc.systemInfo.close();
      sockets.release();
      finish(status);
    });
  };
  const ready = (async () => {
    if (opts.primary) await sockets.prepare();
    // load before listening: the first request is answered at full speed, and a broken policy is logged at once
    await svc.policy.get();
    if (cfg.systemInfo !== null) await svc.systemInfo.get();
    await servers.listen((p) => sockets.bindPath(p));
    if (opts.primary) sockets.claim();
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

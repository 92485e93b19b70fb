/**
 * Several serving processes sharing the daemon's sockets (node:cluster,
 * each worker accepting on the shared listening sockets itself). A new
 * connection per request is mostly kernel and stream set-up work, which
 * one process cannot spread over several cores; workers can. Each worker
 * keeps and watches its own copy of the policy; the primary only supervises:
 * it owns the socket paths, replaces a worker that ends for any reason,
 * and logs each policy state change once. The daemon ends only when the
 * primary is told to (a service manager then sees status 0), or when
 * workers keep dying (status 1).
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../log.js';
import type { DaemonConfig } from './config.js';
import { TransitionLog, type Transition } from './health.js';
import { endpointPaths, serve, type Running } from './serve.js';
import { DaemonStartError } from './server.js';
import { SocketPaths } from './sockets.js';

/** The environment variable that carries the configuration to a worker (and marks the process as one). */
export const WORKER_ENV = 'QREXEC_POLICY_DAEMON_WORKER';

/** What a worker is given: the configuration, and the primary's id (which names the sockets to bind). */
export interface WorkerSetup {
  cfg: DaemonConfig;
  owner: number;
}

type FromWorker = { type: 'ready' } | { type: 'fatal'; message: string } | { type: 'transition'; transition: Transition };
type ToWorker = { type: 'reload' };

/** Restarts allowed within RESTART_WINDOW_MS before the daemon gives up. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
/** Workers told to stop that are still there after this long are killed (systemd waits 10 s; the issue asks for 2). */
export const STOP_GRACE_MS = 1500;

export interface ClusterOptions {
  /** The script workers run (default: this process's own script, arguments and node options). */
  exec?: string;
  args?: string[];
  execArgv?: string[];
}

export function startCluster(cfg: DaemonConfig, log: Logger, opts: ClusterOptions = {}): Running {
  const transitions = new TransitionLog(log);
  const sockets = new SocketPaths(endpointPaths(cfg));
  const workers = new Set<Worker>();
  let restarts: number[] = [];
  let started = 0;
  let stopping = false;
  let status = 0;
  let readyNow!: () => void;
  let failStart!: (e: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    readyNow = resolve;
    failStart = reject;
  });
  let finish!: (status: number) => void;
  const done = new Promise<number>((resolve) => (finish = resolve));
  let isReady = false;
  let killTimer: NodeJS.Timeout | null = null;
  const end = () => {
    if (killTimer !== null) clearTimeout(killTimer);
    sockets.release();
    finish(status);
  };

  /** Stop every worker; `why` is logged (once, however many workers fail alike). */
  const stop = (exitStatus: number, why?: string) => {
    if (stopping) return;
    if (why !== undefined) log.log('error', why);
    stopping = true;
    status = exitStatus;
    if (workers.size === 0) return end();
    // a signal, not a message: a worker still starting up has no one listening for messages yet
    for (const w of workers) w.process.kill('SIGTERM');
    killTimer = setTimeout(() => {
      for (const w of workers) {
        log.log('error', `worker process ${w.process.pid} still running ${STOP_GRACE_MS} ms after SIGTERM; killing it`);
        w.process.kill('SIGKILL');
      }
    }, STOP_GRACE_MS);
  };

  const fail = (message: string) => {
    // (once ready, failing to start changes nothing for the caller)
    failStart(new DaemonStartError(message));
    stop(1, message);
  };

  /** `replacing`: the process id of the worker this one takes the place of. */
  const fork = (replacing?: number) => {
    const w = cluster.fork({ [WORKER_ENV]: JSON.stringify({ cfg, owner: process.pid } satisfies WorkerSetup) });
    workers.add(w);
    w.on('message', (m: FromWorker) => {
      if (m.type === 'transition') transitions.note(m.transition);
      else if (m.type === 'ready') {
        try {
          // a worker's first listen bound the sockets (in this process, which holds them for all workers)
          sockets.claim();
        } catch (err) {
          return fail((err as DaemonStartError).message);
        }
        if (replacing !== undefined) log.log('info', `worker process ${w.process.pid} is serving in place of ${replacing}`);
        else if (++started === cfg.workers) {
          isReady = true;
          log.log('info', `listening on ${endpointPaths(cfg).join(', ')} (${cfg.workers} worker processes)`);
          readyNow();
        }
      } else fail(m.message);
    });
    w.on('exit', (code, signal) => {
      workers.delete(w);
      if (stopping) {
        if (workers.size === 0) end();
        return;
      }
      // whatever ended it (a crash, the OOM killer, a signal sent to it alone), only the primary's own stop ends the service
      const how = signal ? `signal ${signal}` : `status ${code}`;
      const now = performance.now();
      restarts = restarts.filter((at) => now - at <= RESTART_WINDOW_MS);
      if (!isReady || restarts.length >= MAX_RESTARTS) return fail(`worker process ${w.process.pid} exited with ${how}; stopping`);
      restarts.push(now);
      log.log('error', `worker process ${w.process.pid} exited with ${how}; starting another`);
      fork(w.process.pid);
    });
  };

  // workers accept on the shared sockets themselves, rather than being handed each connection
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({
    exec: opts.exec ?? process.argv[1]!,
    args: opts.args ?? process.argv.slice(2),
    execArgv: opts.execArgv ?? process.execArgv,
  });
  sockets.prepare().then(
    () => {
      if (stopping) return;
      for (let i = 0; i < cfg.workers; i++) fork();
    },
    (err: DaemonStartError) => fail(err.message),
  );
  // the caller learns of a failed start through `done`
  ready.catch(() => {});
  return {
    ready,
    done,
    stop: () => stop(0),
    reload: () => {
      // a worker still starting up reads everything afresh anyway
      for (const w of workers) if (w.isConnected()) w.send({ type: 'reload' } satisfies ToWorker);
    },
  };
}

/** What the primary handed to this worker process, if this is one. */
export function workerSetup(): WorkerSetup | null {
  const json = process.env[WORKER_ENV];
  return cluster.isWorker && json !== undefined ? (JSON.parse(json) as WorkerSetup) : null;
}

/** In a worker process: serve, report to the primary; SIGTERM (main.ts) or losing the primary stops it. */
export function runWorker({ cfg, owner }: WorkerSetup, log: Logger): Running {
  const send = (m: FromWorker) => {
    if (process.connected) process.send!(m);
  };
  const running = serve(cfg, log, (transition) => send({ type: 'transition', transition }), { primary: false, owner });
  running.ready.then(
    () => send({ type: 'ready' }),
    (err: Error) => send({ type: 'fatal', message: err.message }),
  );
  process.on('message', (m: ToWorker) => {
    if (m.type === 'reload') running.reload();
  });
  process.on('disconnect', () => running.stop());
  const done = running.done.then((code) => {
    if (process.connected) process.disconnect();
    return code;
  });
  return { ...running, done };
}

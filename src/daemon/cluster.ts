/**
 * Several serving processes sharing the daemon's sockets (node:cluster,
 * each worker accepting on the shared listening sockets itself). A new
 * connection per request is mostly kernel and stream set-up work, which
 * one process cannot spread over several cores; workers can. Each worker
 * keeps and watches its own copy of the policy; the primary only supervises,
 * restarts a worker that dies, and logs each policy state change once.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../log.js';
import type { DaemonConfig } from './config.js';
import { TransitionLog, type Transition } from './health.js';
import { endpointPaths, serve, type Running } from './serve.js';
import { DaemonStartError, removeStaleSocket } from './server.js';

/** The environment variable that carries the configuration to a worker (and marks the process as one). */
export const WORKER_ENV = 'QREXEC_POLICY_DAEMON_WORKER';

type FromWorker = { type: 'ready' } | { type: 'fatal'; message: string } | { type: 'transition'; transition: Transition };
type ToWorker = { type: 'reload' };

/** Restarts allowed within RESTART_WINDOW_MS before the daemon gives up. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

export interface ClusterOptions {
  /** The script workers run (default: this process's own script, arguments and node options). */
  exec?: string;
  args?: string[];
  execArgv?: string[];
}

export function startCluster(cfg: DaemonConfig, log: Logger, opts: ClusterOptions = {}): Running {
  const transitions = new TransitionLog(log);
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

  /** Stop every worker; `why` is logged (once, however many workers fail alike). */
  const stop = (exitStatus: number, why?: string) => {
    if (stopping) return;
    if (why !== undefined) log.log('error', why);
    stopping = true;
    status = exitStatus;
    if (workers.size === 0) finish(status);
    // a signal, not a message: a worker still starting up has no one listening for messages yet
    for (const w of workers) w.process.kill('SIGTERM');
  };

  const fork = () => {
    const w = cluster.fork({ [WORKER_ENV]: JSON.stringify(cfg) });
    workers.add(w);
    w.on('message', (m: FromWorker) => {
      if (m.type === 'transition') transitions.note(m.transition);
      else if (m.type === 'ready') {
        if (++started === cfg.workers) {
          isReady = true;
          log.log('info', `listening on ${endpointPaths(cfg).join(', ')} (${cfg.workers} worker processes)`);
          readyNow();
        }
      } else {
        // (once ready, failing to start changes nothing for the caller)
        failStart(new DaemonStartError(m.message));
        stop(1, m.message);
      }
    });
    w.on('exit', (code, signal) => {
      workers.delete(w);
      if (stopping) {
        if (workers.size === 0) finish(status);
        return;
      }
      // a worker that stopped cleanly was told to by a signal meant for all of us (systemd signals the whole group)
      if (code === 0 && isReady) {
        stop(0);
        return;
      }
      const how = signal ? `signal ${signal}` : `status ${code}`;
      const now = performance.now();
      restarts = restarts.filter((at) => now - at <= RESTART_WINDOW_MS);
      if (!isReady || restarts.length >= MAX_RESTARTS) {
        const message = `worker process ${w.process.pid} exited with ${how}; stopping`;
        failStart(new DaemonStartError(message));
        stop(1, message);
        return;
      }
      restarts.push(now);
      log.log('error', `worker process ${w.process.pid} exited with ${how}; starting another`);
      fork();
    });
  };

  // workers accept on the shared sockets themselves, rather than being handed each connection
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({
    exec: opts.exec ?? process.argv[1]!,
    args: opts.args ?? process.argv.slice(2),
    execArgv: opts.execArgv ?? process.execArgv,
  });
  for (const p of endpointPaths(cfg)) removeStaleSocket(p);
  for (let i = 0; i < cfg.workers; i++) fork();
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

/** The configuration the primary handed to this worker process, if this is one. */
export function workerConfig(): DaemonConfig | null {
  const json = process.env[WORKER_ENV];
  return cluster.isWorker && json !== undefined ? (JSON.parse(json) as DaemonConfig) : null;
}

/** In a worker process: serve, report to the primary; SIGTERM (main.ts) or losing the primary stops it. */
export function runWorker(cfg: DaemonConfig, log: Logger): Running {
  const send = (m: FromWorker) => {
    if (process.connected) process.send!(m);
  };
  const running = serve(cfg, log, (transition) => send({ type: 'transition', transition }), { primary: false });
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

/**
 * The daemon's settings, resolved once from the command line and the
 * environment (option, then environment, then the Qubes default). Plain
 * data, so the primary process can hand it to its workers as JSON.
 */
import * as os from 'node:os';
import type { AgentConfig } from '../exec/agent.js';
import { configuredPath, DEFAULT_QREXEC_CLIENT, DEFAULT_RPC_DIR, NOTIFY_TIMEOUT_MS, QUBESD_INTERNAL_SOCKET } from '../exec/paths.js';
import { systemInfoPath } from '../io/sources.js';
import { DEFAULT_LEGACY_PATH, DEFAULT_POLICY_PATHS } from '../parser/loader.js';
import { isLevel, type Level } from '../log.js';
import type { Endpoints } from './server.js';

export const DEFAULT_SOCKET = '/var/run/qubes/policy.sock';
export const DEFAULT_EVAL_SOCKET = '/etc/qubes-rpc/policy.EvalSimple';
export const DEFAULT_GUI_SOCKET = '/etc/qubes-rpc/policy.EvalGUI';
export const DEFAULT_REQUEST_TIMEOUT_S = 10;
/** More worker processes than this stop paying off (and cost memory: each holds the policy). */
export const MAX_DEFAULT_WORKERS = 4;

/**
 * Serving processes when `--workers` is not given: one for every two CPUs,
 * at least 1, at most MAX_DEFAULT_WORKERS. Measured (issue 17, bench/README.md):
 * on one and two CPUs a single process answers sooner (p50 at one client
 * 0.065 against 0.10 ms with two) and, on a machine doing nothing else, as
 * many requests a second: the clients (qrexec-daemon, and what runs the
 * calls) need the other CPU, and every new connection wakes every worker,
 * all but one for nothing. Machines with four or more CPUs get a worker per
 * two of them.
 */
export function defaultWorkers(cpus: number): number {
  return Math.max(1, Math.min(MAX_DEFAULT_WORKERS, Math.floor(cpus / 2)));
}

export interface DaemonConfig extends Endpoints {
  paths: string[];
  legacyPath: string;
  /** `--system-info FILE`; null: ask qubesd for every request. */
  systemInfo: string | null;
  qubesdInternalSocket: string;
  agent: AgentConfig;
  logLevel: Level;
  logFile: string | null;
  /** Serving processes; 1 serves in the main process itself. */
  workers: number;
}

/** The options as the command line parsed them (strings, unvalidated). */
export interface DaemonArgs {
  socketPath?: string | undefined;
  evalSocketPath?: string | undefined;
  guiSocketPath?: string | undefined;
  path?: string[] | undefined;
  legacyPath?: string | undefined;
  systemInfo?: string | undefined;
  qubesdInternalSocket?: string | undefined;
  qrexecClient?: string | undefined;
  rpcDir?: string | undefined;
  askTimeout?: string | undefined;
  requestTimeout?: string | undefined;
  workers?: string | undefined;
  logLevel?: string | undefined;
  logFile?: string | undefined;
}

export class ConfigError extends Error {}

function seconds(value: string | undefined, name: string, dflt: number, allowZero: boolean): number {
  if (value === undefined) return dflt * 1000;
  const n = /^[0-9]+(\.[0-9]+)?$/.test(value) ? Number(value) : NaN;
  if (!(n > 0 || (allowZero && n === 0))) throw new ConfigError(`${name} needs a ${allowZero ? '' : 'positive '}number of seconds, not ${JSON.stringify(value)}`);
  return Math.round(n * 1000);
}

function workerCount(value: string | undefined): number {
  if (value === undefined) return defaultWorkers(os.availableParallelism());
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || Number(value) > 64)
    throw new ConfigError(`--workers needs a whole number from 1 to 64, not ${JSON.stringify(value)}`);
  return Number(value);
}

export function daemonConfig(a: DaemonArgs, env: NodeJS.ProcessEnv): DaemonConfig {
  const logLevel = a.logLevel ?? 'info';
  if (!isLevel(logLevel)) throw new ConfigError(`invalid log level ${JSON.stringify(logLevel)} (error, warn, info, debug)`);
  return {
    socketPath: a.socketPath ?? DEFAULT_SOCKET,
    evalSocketPath: a.evalSocketPath ?? DEFAULT_EVAL_SOCKET,
    guiSocketPath: a.guiSocketPath ?? DEFAULT_GUI_SOCKET,
    requestTimeoutMs: seconds(a.requestTimeout, '--request-timeout', DEFAULT_REQUEST_TIMEOUT_S, false),
    paths: a.path && a.path.length ? [...a.path] : [...DEFAULT_POLICY_PATHS],
    legacyPath: a.legacyPath ?? DEFAULT_LEGACY_PATH,
    systemInfo: systemInfoPath(a, env) ?? null,
    qubesdInternalSocket: configuredPath(a.qubesdInternalSocket, env, 'QUBESD_INTERNAL_SOCKET', QUBESD_INTERNAL_SOCKET),
    agent: {
      qrexecClient: configuredPath(a.qrexecClient, env, 'QREXEC_CLIENT', DEFAULT_QREXEC_CLIENT),
      rpcDir: configuredPath(a.rpcDir, env, 'QREXEC_RPC_DIR', DEFAULT_RPC_DIR),
      askTimeoutMs: seconds(a.askTimeout, '--ask-timeout', 0, true),
      notifyTimeoutMs: NOTIFY_TIMEOUT_MS,
    },
    logLevel,
    logFile: a.logFile ?? null,
    workers: workerCount(a.workers),
  };
}

/**
 * `qrexec-policy-exec`: the per-call hot path qrexec-daemon runs (SPEC §3.3).
 * It parses its own arguments (no yargs), logs with the tiny stderr writer
 * (no winston), prints the result block and answers by exit code.
 */
import { expected, UsageError } from '../errors.js';
import { resultBlock } from '../render/block.js';
import { SystemInfoError, type SystemInfo } from '../policy/system-info.js';
import { decideCall, type CallHooks } from '../exec/decide-call.js';
import { notificationDue } from '../policy/decision.js';
import { CallTiming } from '../exec/timing.js';
import { fileSink, isLevel, lineLogger, stderrSink, syslogListening, syslogSink, type Level, type Logger, type Sink } from '../log.js';
import { configuredPath, DEFAULT_QREXEC_CLIENT, DEFAULT_RPC_DIR, DEFAULT_SYSLOG_SOCKET, NOTIFY_TIMEOUT_MS, QUBESD_SOCKET } from '../exec/paths.js';
import type { ExecConfig } from '../exec/run-call.js';
import { obtainSystemInfo, openRuleSet, type SourceOptions } from '../io/sources.js';
import { shortRun } from '../io/v8-flags.js';

export interface ExecArgs extends SourceOptions {
  assumeYesForAsk: boolean;
  justEvaluate: boolean;
  logLevel: Level;
  requestedSource?: string;
  qrexecClient?: string;
  qubesdSocket?: string;
  rpcDir?: string;
  qubesdTimeout?: string;
  askTimeout?: string;
  logFile?: string;
  syslog: boolean;
  stderr: boolean;
  positionals: string[];
  help: boolean;
  version: boolean;
}

/**
 * The options, each once: its spellings (the first one shown in the help),
 * where its value goes, what it takes (nothing: a flag) and its help, one
 * line per `\n`. The parser and the help both read this table.
 */
const OPTIONS: ReadonlyArray<readonly [names: string, key: keyof ExecArgs, value: string, help: string]> = [
  ['--assume-yes-for-ask', 'assumeYesForAsk', '', 'treat "ask" as "allow" for the requested target'],
  ['--just-evaluate', 'justEvaluate', '', 'do not ask, notify or run anything; print nothing;\nanswer by exit code only'],
  ['--path --policy-path', 'path', 'DIR', 'policy directory (repeatable; alias --policy-path;\ndefault /run/qubes/policy.d then /etc/qubes/policy.d)'],
  ['--legacy-path', 'legacyPath', 'DIR', 'R4.0 policy directory for !compat-4.0 and --legacy\n(default /etc/qubes-rpc/policy)'],
  ['--legacy', 'legacy', '', 'evaluate with R4.0 semantics only'],
  ['--system-info', 'systemInfo', 'FILE', 'qube facts as JSON (env QREXEC_POLICY_SYSTEM_INFO);\nwithout it, ask qubesd'],
  ['--requested-source', 'requestedSource', 'QUBE', 'evaluate for this RemoteVM, relayed by SOURCE'],
  ['--qrexec-client', 'qrexecClient', 'PATH', 'env QREXEC_CLIENT (default /usr/lib/qubes/qrexec-client)'],
  ['--qubesd-socket', 'qubesdSocket', 'PATH', 'admin.* calls; env QUBESD_SOCKET (default /var/run/qubesd.sock)'],
  ['--qubesd-internal-socket', 'qubesdInternalSocket', 'P', 'internal.* calls; env QUBESD_INTERNAL_SOCKET\n(default /var/run/qubesd.internal.sock)'],
  ['--rpc-dir', 'rpcDir', 'DIR', 'local socket services such as policy.Ask; env QREXEC_RPC_DIR\n(default /etc/qubes-rpc)'],
  ['--qubesd-timeout', 'qubesdTimeout', 'SECONDS', 'limit for starting a qube or creating a disposable (default 120)'],
  ['--ask-timeout', 'askTimeout', 'SECONDS', "limit for the user's answer (default 0: wait)"],
  ['--log-level', 'logLevel', 'LEVEL', 'error, warn, info (default) or debug'],
  ['--log-file', 'logFile', 'FILE', 'append log lines to FILE instead'],
  ['--syslog', 'syslog', '', 'log to syslog and to stderr (or --log-file)'],
  ['--stderr', 'stderr', '', 'log to stderr only'],
  ['-h --help', 'help', '', 'show this help'],
  ['--version', 'version', '', 'show the version'],
];

const BY_NAME = new Map(OPTIONS.flatMap((o) => o[0].split(' ').map((n) => [n, o] as const)));

export const EXEC_USAGE = `usage: qrexec-policy-exec [options] SOURCE TARGET SERVICE[+ARG]
       qrexec-policy-exec [options] DOMAIN_ID SOURCE TARGET SERVICE[+ARG] PROCESS_IDENT

Decide one qrexec call from the qrexec policy. With three arguments, print the
result block qrexec-daemon reads; with five, also run the allowed call
(start the target or create a disposable through qubesd, then qrexec-client).
An "ask" is put to the user through the policy agent of the caller's GuiVM.

options:
${OPTIONS.map(([names, , value, help]) => {
  // `-h --help` is shown as `-h, --help`, an option with an alias by its first name
  const shown = names.startsWith('-h') ? names.replace(' ', ', ') : names.split(' ')[0]! + (value ? ' ' + value : '');
  return `  ${shown.padEnd(26)}  ${help.replaceAll('\n', '\n' + ' '.repeat(30))}\n`;
}).join('')}
examples:
  qrexec-policy-exec work vault qubes.Gpg    the result block qrexec-daemon would read
  qrexec-policy-exec --just-evaluate work vault qubes.Gpg
                                             allowed or not, by exit code only

exit status: 0 allowed (with five arguments: qrexec-client's status),
1 denied or failed, 2 usage error
`;

/** Parse argv (without node and script). Options may come anywhere; `--` ends them. */
export function parseExecArgs(argv: readonly string[]): ExecArgs {
  const args: ExecArgs = {
    assumeYesForAsk: false,
    justEvaluate: false,
    legacy: false,
    syslog: false,
    stderr: false,
    logLevel: 'info',
    positionals: [],
    help: false,
    version: false,
    path: [],
  };
  const rec = args as unknown as Record<string, unknown>;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      args.positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(0, eq) : a;
    const option = BY_NAME.get(name);
    if (option === undefined) throw new UsageError(`unknown option ${name}`);
    const key = option[1];
    if (option[2] === '') {
      if (eq >= 0) throw new UsageError(`option ${name} takes no value`);
      rec[key] = true;
      continue;
    }
    let value: string;
    if (eq >= 0) value = a.slice(eq + 1);
    else if (i + 1 < argv.length) value = argv[++i]!;
    else throw new UsageError(`option ${name} needs a value`);
    if (key === 'path') (args.path as string[]).push(value);
    else if (key === 'logLevel') {
      if (!isLevel(value)) throw new UsageError(`invalid log level ${value} (error, warn, info, debug)`);
      args.logLevel = value;
    } else rec[key] = value;
  }
  return args;
}

function seconds(value: string | undefined, name: string, dflt: number): number {
  if (value === undefined) return dflt * 1000;
  if (!/^[0-9]+(\.[0-9]+)?$/.test(value)) throw new UsageError(`${name} needs a number of seconds, not ${value}`);
  return Math.round(Number(value) * 1000);
}

/** External paths and limits: option, then environment, then the Qubes default (SPEC §7). */
export function execConfig(args: ExecArgs, env: NodeJS.ProcessEnv): ExecConfig {
  return {
    qrexecClient: configuredPath(args.qrexecClient, env, 'QREXEC_CLIENT', DEFAULT_QREXEC_CLIENT),
    qubesdSocket: configuredPath(args.qubesdSocket, env, 'QUBESD_SOCKET', QUBESD_SOCKET),
    rpcDir: configuredPath(args.rpcDir, env, 'QREXEC_RPC_DIR', DEFAULT_RPC_DIR),
    qubesdTimeoutMs: seconds(args.qubesdTimeout, '--qubesd-timeout', 120),
    askTimeoutMs: seconds(args.askTimeout, '--ask-timeout', 0),
    notifyTimeoutMs: NOTIFY_TIMEOUT_MS,
  };
}

export interface ExecIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Overrides the logger built from --log-* options (tests). */
  log: Logger;
  /** Where log lines for stderr go (default: process.stderr; the executable writes to the descriptor). */
  stderrSink: Sink;
  env: NodeJS.ProcessEnv;
  version: string;
  /** `r40`: the R4.0 `qrexec-policy DOMAIN_ID SOURCE TARGET SERVICE PROCESS_IDENT` form (five arguments only). */
  form: 'exec' | 'r40';
}

/**
 * Where log lines go: like Qubes' qrexec-policy-exec, to syslog (the
 * journal, where `qrexec-policy why --journal` reads them) when it listens
 * at /dev/log (env QREXEC_POLICY_SYSLOG_SOCKET), else to stderr; --stderr
 * and --log-file choose instead, --syslog adds syslog to either.
 */
function makeLogger(args: ExecArgs, env: NodeJS.ProcessEnv, toStderr: Sink): Logger {
  const socket = configuredPath(undefined, env, 'QREXEC_POLICY_SYSLOG_SOCKET', DEFAULT_SYSLOG_SOCKET);
  const byDefault = !args.stderr && !args.logFile && !args.syslog && syslogListening(socket);
  const sinks: Sink[] = byDefault ? [] : [args.logFile ? fileSink(args.logFile) : toStderr];
  if (byDefault || args.syslog) sinks.push(syslogSink('qrexec-policy-exec', 'logger', socket === DEFAULT_SYSLOG_SOCKET ? undefined : socket));
  return lineLogger(args.logLevel, sinks);
}

/** A usage problem: one line saying what, one pointing at --help; exit 2. */
function usage(stderr: (s: string) => void, form: ExecIo['form'] | undefined, message: string): number {
  const name = form === 'r40' ? 'qrexec-policy' : 'qrexec-policy-exec';
  stderr(`${name}: ${message}\nRun '${name} --help' for usage.\n`);
  return 2;
}

/**
 * One call: evaluate, ask the user if needed, notify, and print the result
 * block (three arguments) or run the call (five). Returns the exit status;
 * never throws for bad input.
 */
export async function execMain(argv: readonly string[], io: Partial<ExecIo> = {}): Promise<number> {
  const stdout = io.stdout ?? ((s: string) => void process.stdout.write(s));
  const stderr = io.stderr ?? ((s: string) => void process.stderr.write(s));
  const env = io.env ?? process.env;
  let args: ExecArgs;
  let cfg: ExecConfig;
  try {
    args = parseExecArgs(argv);
    cfg = execConfig(args, env);
  } catch (err) {
    expected(err, UsageError);
    return usage(stderr, io.form, err.message);
  }
  if (args.help) {
    stdout(EXEC_USAGE);
    return 0;
  }
  if (args.version) {
    stdout(`${io.version ?? 'unknown'}\n`);
    return 0;
  }
  const n = args.positionals.length;
  if (io.form === 'r40' && n !== 5) return usage(stderr, io.form, `the R4.0 form takes DOMAIN_ID SOURCE TARGET SERVICE[+ARG] PROCESS_IDENT, got ${n} arguments`);
  if (n !== 3 && n !== 5) return usage(stderr, io.form, `expected SOURCE TARGET SERVICE[+ARG] (or DOMAIN_ID SOURCE TARGET SERVICE[+ARG] PROCESS_IDENT), got ${n} arguments`);
  const log = io.log ?? makeLogger(args, env, io.stderrSink ?? stderrSink);
  // --log-level debug only: the clock's first use costs a call that is not timed (from here on, it is)
  const timing = log.enabled('debug') ? new CallTiming() : undefined;
  const p = args.positionals;
  const [source, target, serviceArg] = (n === 3 ? p : p.slice(1, 4)) as [string, string, string];
  let si: SystemInfo | SystemInfoError;
  try {
    si = await obtainSystemInfo(args, env);
  } catch (err) {
    expected(err, SystemInfoError);
    si = err;
  }
  timing?.mark('system-info');
  // asking, notifying and running need sockets and processes: loaded only when used
  const runCall = () => import('../exec/run-call.js');
  const hooks: CallHooks = {
    log,
    resolveAsk: async (d, input, s) => (await runCall()).resolveAsk(d, input, s, cfg, log),
    // most decisions notify nobody: the agent code is not loaded for them
    notify: async (d, input, s) => (notificationDue(d) ? (await runCall()).notifyDecision(d, input, s, cfg, log) : undefined),
    timing,
  };
  const call = { source, target, serviceArg, requestedSource: args.requestedSource ?? null, assumeYesForAsk: args.assumeYesForAsk, justEvaluate: args.justEvaluate };
  // one request: build only its service's rules (every line is still checked), V8 tuned for it (io/v8-flags.ts)
  const { decision: d, notified } = await decideCall(() => shortRun(() => openRuleSet(args, serviceArg.split('+', 1)[0]!)), si, call, hooks);
  await notified;
  timing?.mark('notify');
  // --log-level debug: where the call's time went, once it is over
  const done = (status: number) => {
    if (timing) log.log('debug', timing.line(`${serviceArg}: ${source} -> ${target || '@default'}`));
    return status;
  };
  if (args.justEvaluate) return done(d.result === 'allow' ? 0 : 1);
  if (n === 3) stdout(resultBlock(d) + '\n');
  if (d.result !== 'allow') return done(1);
  if (n === 3) return done(0);
  return done(await (await runCall()).runAllowedCall(d, { domainId: p[0]!, processIdent: p[4]!, source, serviceArg }, cfg, log, timing));
}

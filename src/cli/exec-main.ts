/**
 * `qrexec-policy-exec`: the per-call hot path qrexec-daemon runs (SPEC §3.3).
 * It parses its own arguments (no yargs), logs with the tiny stderr writer
 * (no winston), prints the result block and answers by exit code.
 */
import { resultBlock } from '../render/block.js';
import { evaluate } from '../policy/evaluate.js';
import type { Decision } from '../policy/decision.js';
import { SystemInfoError } from '../policy/system-info.js';
import { isLevel, stderrLogger, type Level, type Logger } from '../log.js';
import { obtainSystemInfo, openRuleSet, type SourceOptions } from './sources.js';

export const EXEC_USAGE = `usage: qrexec-policy-exec [options] SOURCE TARGET SERVICE[+ARG]
       qrexec-policy-exec [options] DOMAIN_ID SOURCE TARGET SERVICE[+ARG] PROCESS_IDENT

Decide one qrexec call from the qrexec policy and print the result block
qrexec-daemon reads (or, with five arguments, run the allowed call).

options:
  --assume-yes-for-ask        treat "ask" as "allow" for the requested target
  --just-evaluate             print nothing; answer by exit code only
  --path DIR                  policy directory (repeatable; alias --policy-path;
                              default /run/qubes/policy.d then /etc/qubes/policy.d)
  --legacy-path DIR           R4.0 policy directory for !compat-4.0 and --legacy
                              (default /etc/qubes-rpc/policy)
  --legacy                    evaluate with R4.0 semantics only
  --system-info FILE          qube facts as JSON (env QREXEC_POLICY_SYSTEM_INFO);
                              without it, ask qubesd
  --qubesd-internal-socket P  qubesd internal socket (env QUBESD_INTERNAL_SOCKET)
  --requested-source QUBE     evaluate for this RemoteVM, relayed by SOURCE
  --log-level LEVEL           error, warn, info (default) or debug
  -h, --help                  show this help
  --version                   show the version

exit status: 0 allowed, 1 denied (or ask without --assume-yes-for-ask), 2 usage error
`;

export interface ExecArgs extends SourceOptions {
  assumeYesForAsk: boolean;
  justEvaluate: boolean;
  logLevel: Level;
  requestedSource?: string;
  positionals: string[];
  help: boolean;
  version: boolean;
}

export class UsageError extends Error {}

const VALUE_OPTIONS: Record<string, keyof ExecArgs> = {
  '--path': 'path',
  '--policy-path': 'path',
  '--legacy-path': 'legacyPath',
  '--system-info': 'systemInfo',
  '--qubesd-internal-socket': 'qubesdInternalSocket',
  '--requested-source': 'requestedSource',
  '--log-level': 'logLevel',
};

const FLAG_OPTIONS: Record<string, keyof ExecArgs> = {
  '--assume-yes-for-ask': 'assumeYesForAsk',
  '--just-evaluate': 'justEvaluate',
  '--legacy': 'legacy',
  '--help': 'help',
  '-h': 'help',
  '--version': 'version',
};

/** Parse argv (without node and script). Options may come anywhere; `--` ends them. */
export function parseExecArgs(argv: readonly string[]): ExecArgs {
  const args: ExecArgs = {
    assumeYesForAsk: false,
    justEvaluate: false,
    legacy: false,
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
    const flag = FLAG_OPTIONS[name];
    if (flag !== undefined) {
      if (eq >= 0) throw new UsageError(`option ${name} takes no value`);
      rec[flag] = true;
      continue;
    }
    const key = VALUE_OPTIONS[name];
    if (key === undefined) throw new UsageError(`unknown option ${name}`);
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

/** The decision line SPEC §6 asks for, once per call. */
export function decisionLogLine(d: Decision, serviceArg: string, source: string, target: string): string {
  const head = `qrexec: ${serviceArg}: ${source} -> ${target || '@default'}:`;
  if (d.result === 'allow') return `${head} allowed to ${d.target}`;
  if (d.result === 'ask') return `${head} ask (${d.targets.join(', ')})`;
  return `${head} denied: ${d.reason}`;
}

export interface ExecIo {
  stdout: (s: string) => void;
  log: Logger;
  env: NodeJS.ProcessEnv;
  version: string;
}

/** Evaluate one call; returns the exit status. Never throws for bad input. */
export async function execMain(argv: readonly string[], io: Partial<ExecIo> = {}): Promise<number> {
  const stdout = io.stdout ?? ((s: string) => void process.stdout.write(s));
  let args: ExecArgs;
  try {
    args = parseExecArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`qrexec-policy-exec: ${err.message}\n${EXEC_USAGE}`);
    return 2;
  }
  const log = io.log ?? stderrLogger(args.logLevel);
  if (args.help) {
    stdout(EXEC_USAGE);
    return 0;
  }
  if (args.version) {
    stdout(`${io.version ?? 'unknown'}\n`);
    return 0;
  }
  const n = args.positionals.length;
  if (n !== 3 && n !== 5) {
    process.stderr.write(`qrexec-policy-exec: expected 3 or 5 positional arguments, got ${n}\n${EXEC_USAGE}`);
    return 2;
  }
  const [source, target, serviceArg] = (n === 3 ? args.positionals : args.positionals.slice(1, 4)) as [string, string, string];
  if (n === 5 && !args.justEvaluate) {
    // running the allowed call (qrexec-client, qubesd) belongs to the exec issue
    log.log('error', 'qrexec-policy-exec: executing calls (5-argument form) is not yet implemented; denying');
    return 2;
  }

  let decision: Decision;
  try {
    const si = await obtainSystemInfo(args, io.env ?? process.env);
    const rules = openRuleSet(args);
    const reqSource = args.requestedSource;
    decision = evaluate(rules, si, { source, target, service: serviceArg, requestedSource: reqSource ?? null }, {
      assumeYesForAsk: args.assumeYesForAsk,
    });
  } catch (err) {
    if (!(err instanceof SystemInfoError)) throw err;
    log.log('error', err.message);
    if (!args.justEvaluate) stdout('result=deny\n');
    return 1;
  }
  for (const w of decision.warnings) log.log('warn', w);
  log.log('info', decisionLogLine(decision, serviceArg, source, target));
  if (decision.result === 'ask' && !args.justEvaluate)
    log.log('warn', `qrexec: ${serviceArg}: ask needs the policy agent, which is not yet supported here; denying`);
  if (!args.justEvaluate) stdout(resultBlock(decision) + '\n');
  return decision.result === 'allow' ? 0 : 1;
}

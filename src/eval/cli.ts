/**
 * `qrexec-policy eval` (one decision, as a line or `--json`; many with
 * `--batch`: batch.ts) and `qrexec-policy explain` (why, rule by rule).
 */
import { expected } from '../errors.js';
import { denyUnevaluated, evaluate } from '../policy/evaluate.js';
import type { Decision } from '../policy/decision.js';
import type { RequestInput } from '../policy/request.js';
import { SystemInfoError } from '../policy/system-info.js';
import { explain } from '../render/explain.js';
import { decisionJsonLine } from '../render/json.js';
import { decisionText } from '../render/text.js';
import { defaultIo, type Io } from '../io/io.js';
import { CANNOT_DECIDE, obtainSystemInfo, openRuleSet, openSources, showPaths, unreadablePolicy, type SourceOptions } from '../io/sources.js';
import { winstonLogger, type Level } from '../log.js';

export interface EvalArgs extends SourceOptions {
  source?: string | undefined;
  target?: string | undefined;
  service?: string | undefined;
  json?: boolean | undefined;
  assumeYesForAsk?: boolean | undefined;
  requestedSource?: string | undefined;
  /** `--batch FILE|-`: see batch.ts. */
  batch?: string | undefined;
  logLevel?: Level | undefined;
}

const EVAL = 'qrexec-policy eval';

/** Exit status of `eval` for a decision: 0 allow, 1 deny, 3 ask. */
export function evalStatus(d: Decision): number {
  return d.result === 'allow' ? 0 : d.result === 'ask' ? 3 : 1;
}

/** The denial of a request whose system info cannot be had. */
export function denySystemInfo(req: { source?: string | undefined; requestedSource?: string | undefined }, err: SystemInfoError): Decision {
  return denyUnevaluated('load-error', err.message, req.source ?? '', req.requestedSource ?? null);
}

/**
 * One request. When nothing can be decided (the system info or a policy
 * directory cannot be read) the command says why on stderr and exits
 * CANNOT_DECIDE; with --json it still prints the deny qrexec would answer.
 */
export async function runEval(args: EvalArgs, io: Io = defaultIo()): Promise<number> {
  let d: Decision;
  let problem: string | null = null;
  try {
    const si = await obtainSystemInfo(args, io.env);
    const ruleset = openRuleSet(args);
    problem = unreadablePolicy(ruleset);
    d = evaluate(
      ruleset,
      si,
      { source: args.source!, target: args.target!, service: args.service!, requestedSource: args.requestedSource ?? null },
      { assumeYesForAsk: !!args.assumeYesForAsk },
    );
  } catch (err) {
    expected(err, SystemInfoError);
    d = denySystemInfo(args, err);
    problem = err.message;
  }
  if (d.warnings.length) {
    // winston is loaded only when there is something to say
    const log = await winstonLogger(args.logLevel ?? 'warn');
    for (const w of d.warnings) log.log('warn', w);
  }
  if (args.json) io.out(decisionJsonLine(d) + '\n');
  if (problem !== null) {
    io.err(`${EVAL}: could not decide: ${problem}\n`);
    return CANNOT_DECIDE;
  }
  if (!args.json) io.out(decisionText(d, showPaths(args)) + '\n');
  return evalStatus(d);
}

export interface ExplainArgs extends SourceOptions {
  source: string;
  target: string;
  service: string;
  requestedSource?: string | undefined;
  assumeYesForAsk?: boolean | undefined;
  all?: boolean | undefined;
}

export async function runExplain(args: ExplainArgs, io: Io): Promise<number> {
  const sources = await openSources(args, io.env);
  if ('problem' in sources) {
    io.err(`qrexec-policy explain: could not decide: ${sources.problem}\n`);
    return CANNOT_DECIDE;
  }
  const { si, ruleset } = sources;
  const input: RequestInput = { source: args.source, target: args.target, service: args.service, requestedSource: args.requestedSource ?? null };
  const { text, decision } = explain(ruleset, si, input, { assumeYesForAsk: !!args.assumeYesForAsk, all: !!args.all, show: showPaths(args) });
  io.out(text);
  return evalStatus(decision);
}

/**
 * One qrexec call, decided: evaluate → log the warnings → resolve an ask →
 * log the decision → notify. qrexec-policy-exec (cli/exec-main.ts) and the
 * daemon (daemon/decide.ts) both run it, so they cannot differ in what they
 * decide, log or tell the user; each then answers its own way (a result
 * block on stdout and running the call, or the answer on a socket).
 *
 * Asking and notifying are passed in: the per-call path loads the agent
 * code only when a call is asked about (exec-main.ts), the daemon has it at
 * hand.
 */
import type { Logger } from '../log.js';
import type { AskDecision, Decision } from '../policy/decision.js';
import { denyUnevaluated, evaluate } from '../policy/evaluate.js';
import type { RuleSet } from '../policy/policy.js';
import type { RequestInput } from '../policy/request.js';
import { SystemInfoError, type SystemInfo } from '../policy/system-info.js';
import { decisionLogLine } from '../render/log-line.js';
import type { CallTiming } from './timing.js';

export interface Call {
  /** The caller, the target and SERVICE[+ARG] as qrexec-daemon named them. */
  source: string;
  target: string;
  serviceArg: string;
  requestedSource: string | null;
  assumeYesForAsk: boolean;
  /** Decide only: never ask the user nor notify. */
  justEvaluate: boolean;
}

export interface CallHooks {
  log: Logger;
  /** Put an ask to the user (policy.Ask in the caller's GuiVM); the answer is the final decision. */
  resolveAsk(d: AskDecision, input: RequestInput, si: SystemInfo): Promise<Decision>;
  /** policy.Notify for a decision that asks for it; never fails the call. */
  notify(d: Decision, input: RequestInput, si: SystemInfo): Promise<void>;
  /** Marks the stages as they end (`--log-level debug` only). */
  timing?: CallTiming | undefined;
  /** Instead of evaluate(): the daemon's, which remembers decisions per policy (daemon/memo.ts). */
  evaluate?: typeof evaluate;
}

export interface Decided {
  decision: Decision;
  /** The notification, under way (already settled when none was due). */
  notified: Promise<void>;
  /**
   * For a call decided without waiting (no user asked): what another call
   * decided the same way does besides answering, its log lines and its
   * notification, done again (the daemon answers a repeated request so).
   */
  again?: () => Promise<void>;
}

/** The notification of a call that notifies nobody: already settled, and the same promise every time. */
export const SETTLED: Promise<void> = Promise.resolve();

/**
 * Decide `call`: at once, or once the user answered an ask. `rules` is
 * asked for only when there is system info to decide with; without it the
 * call is denied (logged as an error). Nothing is thrown for a denial.
 */
export function decideCall(
  rules: () => RuleSet,
  si: SystemInfo | SystemInfoError,
  call: Call,
  hooks: CallHooks,
): Decided | Promise<Decided> {
  const { log } = hooks;
  const line = (d: Decision) => decisionLogLine(d, call.serviceArg, call.source, call.target);
  if (si instanceof SystemInfoError) {
    const d = denyUnevaluated('load-error', si.message, call.source, call.requestedSource);
    const say = () => {
      log.log('error', line(d));
      return SETTLED;
    };
    return { decision: d, notified: say(), again: say };
  }
  const input: RequestInput = { source: call.source, target: call.target, service: call.serviceArg, requestedSource: call.requestedSource };
  const ruleset = rules();
  hooks.timing?.mark('load-policy');
  const d = (hooks.evaluate ?? evaluate)(ruleset, si, input, { assumeYesForAsk: call.assumeYesForAsk });
  hooks.timing?.mark('evaluate');
  const warn = () => {
    for (const w of d.warnings) log.log('warn', w);
  };
  warn();
  const announce = (final: Decision): Promise<void> => {
    log.log('info', line(final));
    return call.justEvaluate ? SETTLED : hooks.notify(final, input, si);
  };
  // the user decides, in the caller's GuiVM; the answer waits for them
  if (d.result === 'ask' && !call.justEvaluate)
    return hooks.resolveAsk(d, input, si).then((answered) => {
      hooks.timing?.mark('ask');
      return { decision: answered, notified: announce(answered) };
    });
  return {
    decision: d,
    notified: announce(d),
    again: () => {
      warn();
      return announce(d);
    },
  };
}

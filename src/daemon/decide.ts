/**
 * One policy question → the answer text, for every socket the daemon serves,
 * through the call pipeline qrexec-policy-exec runs too (exec/decide-call.ts).
 * Evaluation is synchronous; only a policy still settling after a change
 * (cache.ts), an `ask` put to the user, or system info fetched from qubesd
 * make the answer wait. Notifications go out as the answer is written and
 * never delay or change it (SPEC §7, §8).
 */
import type { AgentConfig } from '../exec/agent.js';
import { decideCall, SETTLED, type CallHooks, type Decided } from '../exec/decide-call.js';
import { CallTiming } from '../exec/timing.js';
import { notifyDecision, resolveAsk } from '../exec/run-call.js';
import type { Logger } from '../log.js';
import type { Decision } from '../policy/decision.js';
import type { Policy } from '../policy/policy.js';
import { resultBlock } from '../render/block.js';
import type { PolicySource, SystemInfoResult, SystemInfoSource } from './sources.js';
import { DecisionMemo, memoryFor, remember, type ByIdentity } from './memo.js';

export interface Services {
  policy: PolicySource;
  systemInfo: SystemInfoSource;
  agent: AgentConfig;
  log: Logger;
}

export interface Question {
  source: string;
  target: string;
  serviceAndArg: string;
  requestedSource: string | null;
  assumeYesForAsk: boolean;
  /** Answer `result=allow` / `result=deny` only; never ask the user nor notify. */
  justEvaluate: boolean;
}

/** The text to send, or null to close without an answer; a promise when something must be waited for. */
export type Answer = string | null | Promise<string | null>;

/** Run `then` on the policy and the system info, at once when both are at hand. */
export function withSources(svc: Services, then: (policy: Policy, si: SystemInfoResult) => Answer): Answer {
  const policy = svc.policy.get();
  const si = svc.systemInfo.get();
  if (!(policy instanceof Promise) && !(si instanceof Promise)) return then(policy, si);
  return Promise.all([policy, si]).then(([p, s]) => then(p, s));
}

/**
 * `raw`: the request as the client sent it, when these bytes alone made it
 * (the policy socket): an answer given without waiting is then remembered
 * under them, for answerAgain(). Not when the policy or the system info had
 * to be waited for: answerAgain() never finds those at hand (qubesd is
 * asked for every request), so remembering would only cost.
 */
export function answer(svc: Services, q: Question, raw?: string): Answer {
  if (svc.log.enabled('debug')) return timedAnswer(svc, q);
  let atOnce = true;
  const out = withSources(svc, (policy, si) => answerWith(svc, q, policy, si, undefined, atOnce ? raw : undefined));
  atOnce = false;
  return out;
}

/** A request answered before, word for word: its answer, and the rest of the call (log lines, notification) to do after sending it. */
export interface Repeat {
  text: string;
  after(): void;
}

/** Answers remembered by the request's bytes, per policy and system info object (as memo.ts remembers decisions). */
const REPEATS: ByIdentity<Policy, SystemInfoResult, Repeat> = new WeakMap();

/**
 * The answer to a request whose bytes were answered before under the
 * policy and system info at hand now, or null (then answer it in full).
 * The time between reading a request and writing its answer is what a
 * busy daemon pays most for (bench/README.md, "Second round"): this one
 * skips parsing and deciding, and leaves logging and notifying until the
 * answer is sent. Never with --log-level debug (each call has its timing
 * line), nor while the policy or the system info is being read.
 */
export function answerAgain(svc: Services, raw: string): Repeat | null {
  if (svc.log.enabled('debug')) return null;
  // peek, not get: a miss goes on to answer(), which gets them (and get() may start a read or a qubesd call)
  const policy = svc.policy.peek();
  const si = policy === null ? null : svc.systemInfo.peek();
  if (policy === null || si === null) return null;
  return REPEATS.get(policy)?.get(si)?.get(raw) ?? null;
}

/**
 * `--log-level debug`: the answer with a timing line (exec/timing.ts). As
 * without it, the answer is synchronous when the policy and the system
 * info are at hand; otherwise they are awaited in turn (a reload and a
 * qubesd call run at once: the wait is counted for the policy first).
 */
function timedAnswer(svc: Services, q: Question): Answer {
  const timing = new CallTiming();
  const finish = (text: string): string => {
    timing.mark('notify');
    svc.log.log('debug', timing.line(`${q.serviceAndArg}: ${q.source} -> ${q.target || '@default'}`));
    return text;
  };
  const then = (policy: Policy, si: SystemInfoResult) => {
    const text = answerWith(svc, q, policy, si, timing);
    return text instanceof Promise ? text.then(finish) : finish(text);
  };
  const policy = svc.policy.get();
  const si = svc.systemInfo.get();
  if (!(policy instanceof Promise) && !(si instanceof Promise)) return then(policy, si);
  return (async () => {
    const p = await policy;
    timing.mark('load-policy');
    const s = await si;
    timing.mark('system-info');
    return then(p, s);
  })();
}

/** The hooks of one daemon's calls, made once: its logger, agent and decision memory. */
const HOOKS = new WeakMap<Services, CallHooks>();

function hooksFor(svc: Services): CallHooks {
  let hooks = HOOKS.get(svc);
  if (hooks === undefined)
    HOOKS.set(
      svc,
      (hooks = {
        // read when used: the services' logger is theirs to replace
        get log() {
          return svc.log;
        },
        resolveAsk: (d, input, s) => resolveAsk(d, input, s, svc.agent, svc.log),
        notify: (d, input, s) => notifyDecision(d, input, s, svc.agent, svc.log),
        evaluate: new DecisionMemo().evaluate,
      }),
    );
  return hooks;
}

export function answerWith(
  svc: Services,
  q: Question,
  policy: Policy,
  si: SystemInfoResult,
  timing?: CallTiming,
  raw?: string,
): string | Promise<string> {
  const shared = hooksFor(svc);
  const hooks: CallHooks = timing === undefined ? shared : { log: shared.log, resolveAsk: shared.resolveAsk, notify: shared.notify, evaluate: shared.evaluate, timing };
  const call = {
    source: q.source,
    target: q.target,
    serviceArg: q.serviceAndArg,
    requestedSource: q.requestedSource,
    assumeYesForAsk: q.assumeYesForAsk,
    justEvaluate: q.justEvaluate,
  };
  const decided = decideCall(() => policy, si, call, hooks);
  if (decided instanceof Promise) return decided.then((x) => reply(svc, q, x));
  const text = reply(svc, q, decided);
  const again = decided.again;
  if (raw !== undefined && again !== undefined) {
    remember(memoryFor(REPEATS, policy, si), raw, {
      text,
      after: () => {
        const notified = again();
        if (notified !== SETTLED) notified.catch((err: unknown) => internalError(svc.log, err));
      },
    });
  }
  return text;
}

/** The answer to send; the notification goes on without it (and never changes it). */
function reply(svc: Services, q: Question, { decision: d, notified }: Decided): string {
  // nothing to wait for in most calls: no handler (and no new promise) for the settled one
  if (notified !== SETTLED) notified.catch((err: unknown) => internalError(svc.log, err));
  // evaluate() already denied any allow whose block qrexec-daemon could not read (policy/block-lines.ts)
  return q.justEvaluate ? (d.result === 'allow' ? 'result=allow\n' : 'result=deny\n') : blockOf(d);
}

/** Result blocks of remembered decisions (memo.ts), written once each. */
const BLOCKS = new WeakMap<Decision, string>();

function blockOf(d: Decision): string {
  let text = BLOCKS.get(d);
  if (text === undefined) BLOCKS.set(d, (text = resultBlock(d) + '\n'));
  return text;
}

/** A bug surfaced while serving: one line, never a stack trace, and the daemon goes on. */
export function internalError(log: Logger, err: unknown): void {
  const msg = err instanceof Error ? err.message : String(err);
  log.log('error', `internal error: ${msg}`);
}

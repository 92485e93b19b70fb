/**
 * One policy question → the answer text, for every socket the daemon serves.
 * Evaluation is synchronous; only a policy still settling after a change
 * (cache.ts), an `ask` put to the user, or system info fetched from qubesd
 * make the answer wait. Notifications go out as the answer is written and
 * never delay or change it (SPEC §7, §8).
 */
import type { AgentConfig } from '../exec/agent.js';
import { notifyDecision, resolveAsk } from '../exec/run-call.js';
import { decisionLogLine } from '../render/log-line.js';
import type { Logger } from '../log.js';
import { evaluate } from '../policy/evaluate.js';
import type { Decision } from '../policy/decision.js';
import type { Policy } from '../policy/policy.js';
import type { RequestInput } from '../policy/request.js';
import { SystemInfoError, type SystemInfo } from '../policy/system-info.js';
import { resultBlock } from '../render/block.js';
import type { PolicySource, SystemInfoResult, SystemInfoSource } from './sources.js';

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

export const DENY_ANSWER = 'result=deny\n';

/** The text to send, or null to close without an answer; a promise when something must be waited for. */
export type Answer = string | null | Promise<string | null>;

/** Run `then` on the policy and the system info, at once when both are at hand. */
export function withSources(svc: Services, then: (policy: Policy, si: SystemInfoResult) => Answer): Answer {
  const policy = svc.policy.get();
  const si = svc.systemInfo.get();
  if (!(policy instanceof Promise) && !(si instanceof Promise)) return then(policy, si);
  return Promise.all([policy, si]).then(([p, s]) => then(p, s));
}

export function answer(svc: Services, q: Question): Answer {
  return withSources(svc, (policy, si) => answerWith(svc, q, policy, si));
}

export function answerWith(svc: Services, q: Question, policy: Policy, si: SystemInfoResult): string | Promise<string> {
  if (si instanceof SystemInfoError) {
    svc.log.log('error', `qrexec: ${q.serviceAndArg}: ${q.source} -> ${q.target || '@default'}: denied: ${si.message}`);
    return DENY_ANSWER;
  }
  const input: RequestInput = { source: q.source, target: q.target, service: q.serviceAndArg, requestedSource: q.requestedSource };
  const d = evaluate(policy, si, input, { assumeYesForAsk: q.assumeYesForAsk });
  for (const w of d.warnings) svc.log.log('warn', w);
  if (d.result === 'ask' && !q.justEvaluate) {
    // the user decides, in the source's GuiVM; the answer waits for them
    return resolveAsk(d, input, si, svc.agent, svc.log).then((r) => finish(svc, q, input, si, r));
  }
  return finish(svc, q, input, si, d);
}

function finish(svc: Services, q: Question, input: RequestInput, si: SystemInfo, d: Decision): string {
  // evaluate() already denied any allow whose block qrexec-daemon could not read (render/block.ts)
  const text = q.justEvaluate ? (d.result === 'allow' ? 'result=allow' : 'result=deny') : resultBlock(d);
  svc.log.log('info', decisionLogLine(d, q.serviceAndArg, q.source, q.target));
  if (!q.justEvaluate) {
    notifyDecision(d, input, si, svc.agent, svc.log).catch((err: unknown) => internalError(svc.log, err));
  }
  return text + '\n';
}

/** A bug surfaced while serving: one line, never a stack trace, and the daemon goes on. */
export function internalError(log: Logger, err: unknown): void {
  const msg = err instanceof Error ? err.message : String(err);
  log.log('error', `internal error: ${msg}`);
}

/** The one log line per decision (SPEC §6), shared by qrexec-policy-exec and the daemon. */
import type { Decision } from '../policy/decision.js';

/** `qrexec: SVC+ARG: SOURCE -> TARGET: allowed to X` or `… denied: REASON`. */
export function decisionLogLine(d: Decision, serviceArg: string, source: string, target: string): string {
  const head = `qrexec: ${serviceArg}: ${source} -> ${target || '@default'}:`;
  if (d.result === 'allow') return `${head} allowed to ${d.target}`;
  // an ask nobody answered (just-evaluate): for the caller it is a denial
  if (d.result === 'ask') return `${head} denied: ask not confirmed (evaluation only)`;
  return `${head} denied: ${d.reason}`;
}

/**
 * Running policy test cases with the real evaluator, and which rules they
 * reached (decided at least one case) for `--coverage`.
 */
import type { Rule } from '../parser/rule.js';
import { asIs, reasonText, type ShowPath } from '../render/text.js';
import type { Decision } from '../policy/decision.js';
import { evaluate } from '../policy/evaluate.js';
import type { RuleSet } from '../policy/policy.js';
import type { SystemInfo } from '../policy/system-info.js';
import type { Case, Expectation } from './cases.js';

export interface Outcome {
  case: Case;
  decision: Decision;
  pass: boolean;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const s = new Set(a);
  return s.size === new Set(b).size && b.every((x) => s.has(x));
}

export function meets(d: Decision, e: Expectation): boolean {
  if (d.result !== e.result) return false;
  if (d.result === 'allow' && e.target !== undefined) return d.target === e.target;
  if (d.result === 'ask' && e.targets !== undefined) return sameSet(d.targets, e.targets);
  return true;
}

/** The decision as a case file would write it, with the deny reason. */
export function actualText(d: Decision, show: ShowPath = asIs): string {
  switch (d.result) {
    case 'allow':
      return `allow ${d.target}`;
    case 'ask':
      return `ask ${d.targets.join(',')}${d.defaultTarget ? ` (default ${d.defaultTarget})` : ''}`;
    case 'deny':
      return `deny (${reasonText(d, show)})`;
  }
}

export function runCases(ruleset: RuleSet, si: SystemInfo, cases: readonly Case[]): { outcomes: Outcome[]; reached: Set<Rule> } {
  const reached = new Set<Rule>();
  const outcomes = cases.map((c) => {
    const decision = evaluate(ruleset, si, { source: c.source, target: c.target, service: c.service, requestedSource: c.requestedSource });
    if (decision.rule) reached.add(decision.rule);
    return { case: c, decision, pass: meets(decision, c.expect) };
  });
  return { outcomes, reached };
}

/**
 * The independent answer `diff` must give (not a test file itself): decide
 * every request of the space `list` enumerates in both policies with the
 * evaluator, no shortcuts, and keep those whose effect differs. The effect
 * is compared through the `eval --json` object (result, target, targets,
 * default_target), not through src/diff's own comparison.
 */
import type { Policy } from '../../src/policy/policy.js';
import type { SystemInfo } from '../../src/policy/system-info.js';
import type { Decision } from '../../src/policy/decision.js';
import { evaluate } from '../../src/policy/evaluate.js';
import { decisionToJson, type DecisionJson } from '../../src/render/json.js';
import { ruleMentions, serviceEntries, sourcesOf, targetsOf } from '../../src/list/axes.js';

export interface OracleChange {
  source: string;
  target: string;
  service: string;
  before: DecisionJson;
  after: DecisionJson;
}

/** What a decision does, from the fields eval --json shows (result, target, targets, default_target). */
export function effect(d: DecisionJson | Decision): string {
  const j = 'requestedTarget' in d ? decisionFields(d) : d;
  return `${j.result}\n${j.target}\n${j.targets?.join(' ')}\n${j.result === 'ask' ? j.default_target : null}`;
}

function decisionFields(d: Decision): Pick<DecisionJson, 'result' | 'target' | 'targets' | 'default_target'> {
  return {
    result: d.result,
    target: d.result === 'allow' ? d.target : null,
    targets: d.result === 'ask' ? d.targets : null,
    default_target: d.result === 'ask' ? d.defaultTarget : null,
  };
}

/** Every request of the space (union of both policies' services and arguments). */
export function* space(a: Policy, b: Policy, si: SystemInfo): Generator<{ source: string; target: string; service: string }> {
  const mentions = new Map<string, Set<string>>();
  for (const p of [a, b])
    for (const [svc, args] of ruleMentions(p.rules)) {
      const s = mentions.get(svc) ?? new Set<string>();
      for (const x of args) s.add(x);
      mentions.set(svc, s);
    }
  for (const entry of serviceEntries(mentions))
    for (const source of sourcesOf(si)) for (const target of targetsOf(si)) yield { source, target, service: entry.request };
}

export function bruteForceDiff(a: Policy, b: Policy, si: SystemInfo): OracleChange[] {
  const out: OracleChange[] = [];
  for (const r of space(a, b, si)) {
    const before = evaluate(a, si, { ...r, requestedSource: null });
    const after = evaluate(b, si, { ...r, requestedSource: null });
    if (effect(before) !== effect(after)) out.push({ ...r, before: decisionToJson(before), after: decisionToJson(after) });
  }
  return out;
}

/** A stable, comparable form of a change list. */
export function keyOf(c: { source: string; target: string; service: string }): string {
  return `${c.source} -> ${c.target} ${c.service}`;
}

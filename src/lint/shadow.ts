/**
 * Reachability findings over the rule sequence (first match wins):
 *
 * - shadowed: for every part of the rule's match set (`*` splits into
 *   `@anyvm` and dom0), an earlier rule matches all of it, so the rule can
 *   never decide a request (`duplicate` when one identical rule does it);
 * - unmatchable-source: a `@dispvm:...` SOURCE never matches a caller;
 * - redundant: a later rule for the same service with the same effect
 *   matches everything this one does, no rule in between can see any of its
 *   callers, and it offers at least the same ask choices, so removing the
 *   rule changes no decision. (A service's own deny before the final `* *`
 *   deny is not reported: it keeps the service closed if the default changes.)
 */
import { ruleWhere, type Rule } from '../parser/rule.js';
import {
  atoms,
  expansionCovers,
  mayOverlapButTarget,
  neverMatchesSource,
  ruleCovers,
  ruleCoversAtom,
  sameEffect,
  sameRule,
} from './cover.js';
import { RuleIndex } from './rule-index.js';
import { finding, type CheckId, type Finding } from './finding.js';
import type { Sources } from './locate.js';

export type Reach =
  | { kind: 'shadowed'; by: Rule[] }
  | { kind: 'duplicate'; of: Rule }
  | { kind: 'unmatchable-source' }
  | { kind: 'redundant'; by: Rule }
  /** The same line loaded a second time (its file is included twice). */
  | { kind: 'reloaded' };

/** The earliest earlier rule covering each part of `rules[i]`, or null if some part is uncovered. */
function shadowers(rules: readonly Rule[], i: number, index: RuleIndex): Rule[] | null {
  const r = rules[i]!;
  const by: Rule[] = [];
  for (const s of atoms(r.source)) {
    for (const t of atoms(r.target)) {
      const j = index.coverCandidates(r, s, t, i).find((k) => ruleCoversAtom(rules[k]!, r, s, t));
      if (j === undefined) return null;
      if (!by.includes(rules[j]!)) by.push(rules[j]!);
    }
  }
  return by;
}

/** Rules whose removal could change what a fault denies: their own matching can fault. */
function canFault(r: Rule): boolean {
  return r.target.kind === 'dispvm-template' || (r.source.kind === 'qube' && r.source.ref.by === 'uuid');
}

/** A later rule that makes `rules[i]` redundant, if the rules in between cannot interfere. */
function redundantWith(rules: readonly Rule[], i: number, index: RuleIndex, barriers: readonly number[]): Rule | null {
  const r = rules[i]!;
  if (r.line === null || canFault(r)) return null;
  const eff = r.redirect ?? r.target;
  // unknown rules could come before the first barrier after this rule
  const barrier = Math.min(...barriers.filter((b) => b > i));
  for (const j of index.later(i)) {
    if (j >= barrier) return null;
    const e = rules[j]!;
    // only a rule for the same service: restating the final `* *` default for one service is deliberate
    const candidate = e.line !== null && e.service === r.service && sameEffect(e, r);
    if (candidate && ruleCovers(e, r) && expansionCovers(e.redirect ?? e.target, eff)) return e;
    if (mayOverlapButTarget(e, r)) return null;
  }
  return null;
}

export interface ReachOptions {
  /** Look for redundant rules (needs the complete rule set: no load errors). */
  redundancy: boolean;
  barriers: readonly number[];
}

/** Reachability findings by rule index. Implicit compat rules are never reported. */
export function analyseReach(rules: readonly Rule[], opts: ReachOptions): Map<number, Reach> {
  const index = new RuleIndex(rules);
  const out = new Map<number, Reach>();
  const unreachable = new Set<Rule>();
  rules.forEach((r, i) => {
    if (neverMatchesSource(r.source)) {
      unreachable.add(r);
      if (r.line !== null) out.set(i, { kind: 'unmatchable-source' });
      return;
    }
    const by = shadowers(rules, i, index);
    if (by === null) return;
    unreachable.add(r);
    if (r.line === null) return;
    const reloaded = by[0]!.file === r.file && by[0]!.line === r.line;
    const dup = by.length === 1 && sameRule(by[0]!, r);
    out.set(i, reloaded ? { kind: 'reloaded' } : dup ? { kind: 'duplicate', of: by[0]! } : { kind: 'shadowed', by });
  });
  if (!opts.redundancy) return out;
  rules.forEach((r, i) => {
    if (unreachable.has(r)) return;
    const e = redundantWith(rules, i, index, opts.barriers);
    // a later rule that can never decide is the one to remove, not this one
    if (e !== null && !unreachable.has(e)) out.set(i, { kind: 'redundant', by: e });
  });
  return out;
}

export function reachMessage(reach: Reach): string {
  switch (reach.kind) {
    case 'reloaded':
      return 'this file is loaded twice (it is included twice): the second copy of its rules can never decide';
    case 'unmatchable-source':
      return 'this SOURCE never matches a caller (a running disposable calls under its own name): the rule never applies';
    case 'duplicate':
      return `duplicate of the rule at ${ruleWhere(reach.of)}: this one can never decide`;
    case 'shadowed':
      return `shadowed: ${reach.by.map(ruleWhere).join(' and ')} ${reach.by.length > 1 ? 'match' : 'matches'} every request this rule matches, so it can never decide`;
    case 'redundant':
      return `redundant: the later rule at ${ruleWhere(reach.by)} decides the same requests the same way; removing this rule changes no decision`;
  }
}

/** The findings of one kind of reach, at each rule's first column. */
export function reachFindings(rules: readonly Rule[], reach: ReadonlyMap<number, Reach>, kinds: readonly Reach['kind'][], sources: Sources, rule: CheckId): Finding[] {
  const out: Finding[] = [];
  for (const [i, r] of reach) {
    if (!kinds.includes(r.kind)) continue;
    const at = rules[i]!;
    out.push(finding(rule, reachMessage(r), at.file, at.line, sources.columns(at).start));
  }
  return out;
}

/** A whole evaluation case: a system, a policy tree over it, and requests aimed at its rules. */
import fc from 'fast-check';
import { allRules, arbTree, renderTree, type PolicyTree, type RuleSpec } from './policy.js';
import { aimAt, arbRequestPicks, type Req } from './request.js';
import { arbSystem, type SystemCase } from './system.js';

export interface Case {
  sys: SystemCase;
  tree: PolicyTree;
  /** Every rule the tree holds (any order), for the oracle. */
  rules: RuleSpec[];
  reqs: Req[];
}

/**
 * Built with map only (no chain), so fast-check shrinks every part on its
 * own: half the requests are aimed at one of the tree's rules, so that most
 * reach a deciding rule.
 */
export const arbCase: fc.Arbitrary<Case> = fc.tuple(arbSystem, arbTree, arbRequestPicks).map(([sys, tree, picks]) => {
  const rules = allRules(tree);
  const reqs = picks.map(([q, k]) => (k === null || rules.length === 0 ? q : aimAt(rules[k % rules.length]!, q)));
  return printable({ sys, tree, rules, reqs });
});

/** How a case shows in a counterexample: the files as written, the system info and the requests. */
export function describeCase(c: Case): string {
  return JSON.stringify({ files: renderTree(c.tree).files, system_info: c.sys.json, requests: c.reqs }, null, 1);
}

function printable(c: Case): Case {
  return Object.defineProperty(c, fc.toStringMethod, { value: () => describeCase(c), enumerable: false });
}

/**
 * What a decision *does*, for `diff`: the result, where an allow goes, and
 * what an ask offers (its targets and default). Everything else in a Decision (the deciding rule's
 * place, a deny's reason, warnings) can change without changing what
 * happens to the call, so it is left out (issue 16: "a rule that merely
 * moved, or a new deny reason, is not a change").
 */
import type { Rule } from '../parser/rule.js';

/**
 * One side of a change: what the decision does, and the rule that made it.
 * A Decision is one too (the fields have the same names), so decisions
 * compare without conversion; a diff keeps these smaller values (compare.ts).
 */
export type Side =
  | { readonly result: 'deny'; readonly rule: Rule | null; readonly reason: string | null }
  | { readonly result: 'allow'; readonly target: string; readonly rule: Rule | null }
  | { readonly result: 'ask'; readonly targets: readonly string[]; readonly defaultTarget: string | null; readonly rule: Rule | null };

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Do two decisions do the same thing? (Ask targets are sorted, so lists compare in order.) */
export function sameOutcome(a: Side, b: Side): boolean {
  if (a.result !== b.result) return false;
  if (a.result === 'allow') return a.target === (b as typeof a).target;
  if (a.result === 'ask') {
    const o = b as typeof a;
    return a.defaultTarget === o.defaultTarget && sameList(a.targets, o.targets);
  }
  return true;
}

/** How a request's decision changed, in the words the text output groups by. */
export type ChangeKind =
  | 'newly allowed'
  | 'allowed without asking'
  | 'allowed to another target'
  | 'newly asks'
  | 'asks instead of allowing'
  | 'asks differently'
  | 'newly denied';

/** Every kind, in the order summaries list them (new access first). */
export const CHANGE_KINDS: readonly ChangeKind[] = [
  'newly allowed',
  'allowed without asking',
  'allowed to another target',
  'newly asks',
  'asks instead of allowing',
  'asks differently',
  'newly denied',
];

/** The kind of a change; only called for decisions whose outcomes differ. */
export function changeKind(before: Side, after: Side): ChangeKind {
  switch (after.result) {
    case 'allow':
      return before.result === 'deny' ? 'newly allowed' : before.result === 'ask' ? 'allowed without asking' : 'allowed to another target';
    case 'ask':
      return before.result === 'deny' ? 'newly asks' : before.result === 'allow' ? 'asks instead of allowing' : 'asks differently';
    case 'deny':
      return 'newly denied';
  }
}

/** Targets a decision lets the caller reach (with or without a prompt). */
function reachable(d: Side): readonly string[] {
  return d.result === 'allow' ? [d.target] : d.result === 'ask' ? d.targets : [];
}

/**
 * Does the change give new access (`--fail-on new-allow`)? A request that
 * became allow (from deny or ask, or to another target), or an ask that
 * offers a target the request could not reach before. Losing access,
 * asking where it allowed, or a new default alone is not new access.
 */
export function givesNewAccess(before: Side, after: Side): boolean {
  if (after.result === 'allow') return before.result !== 'allow' || before.target !== after.target;
  if (after.result === 'ask') {
    const was = new Set(reachable(before));
    return after.targets.some((t) => !was.has(t));
  }
  return false;
}

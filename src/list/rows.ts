/**
 * The rows of `list`: every selected (source, service entry, target), decided
 * by evaluate() — the one evaluator `eval` uses, so a row always says what
 * `qrexec-policy eval SOURCE TARGET REQUEST` says. With `explain`, the rules
 * the evaluator passed over, each with the column that did not match.
 */
import type { Rule } from '../parser/rule.js';
import { evaluate } from '../policy/evaluate.js';
import type { Decision } from '../policy/decision.js';
import type { RuleSet } from '../policy/policy.js';
import { parseRequest, type RequestInput } from '../policy/request.js';
import type { SystemInfo } from '../policy/system-info.js';
import { mismatchReason } from '../render/explain.js';
import type { ServiceEntry } from './axes.js';
import type { Result } from './select.js';

export interface PassedOver {
  readonly rule: Rule;
  /** The first column that did not match, and why. */
  readonly reason: string;
}

export interface Row {
  readonly source: string;
  readonly target: string;
  readonly entry: ServiceEntry;
  readonly decision: Decision;
  /** Only when explaining. */
  readonly passedOver: readonly PassedOver[] | null;
}

export interface Selection {
  readonly sources: readonly string[];
  readonly entries: readonly ServiceEntry[];
  readonly targets: readonly string[];
  /** Keep only rows with these results; `null` keeps all. */
  readonly actions: ReadonlySet<Result> | null;
  readonly explain: boolean;
}

function passedOver(skipped: readonly Rule[], input: RequestInput, si: SystemInfo): PassedOver[] {
  if (skipped.length === 0) return [];
  const parsed = parseRequest(input, si);
  /* c8 ignore next -- evaluate walks rules only for a request that parses */
  if (!parsed.ok) return [];
  return skipped.map((rule) => ({ rule, reason: mismatchReason(rule, parsed.request, si) }));
}

/** Rows grouped by source, then service entry, then target (the order of the selection). */
export function* listRows(ruleset: RuleSet, si: SystemInfo, sel: Selection): Generator<Row> {
  for (const source of sel.sources) {
    for (const entry of sel.entries) {
      for (const target of sel.targets) {
        const input: RequestInput = { source, target, service: entry.request, requestedSource: null };
        const skipped: Rule[] = [];
        const decision = evaluate(ruleset, si, input, sel.explain ? { onSkip: (r) => skipped.push(r) } : {});
        if (sel.actions !== null && !sel.actions.has(decision.result)) continue;
        yield { source, target, entry, decision, passedOver: sel.explain ? passedOver(skipped, input, si) : null };
      }
    }
  }
}

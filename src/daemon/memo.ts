/**
 * The daemon's decisions, remembered for the policy and system info they
 * were made from. Evaluation is a pure function of the rule set, the system
 * info and the request (policy/evaluate.ts reads nothing else: no clock, no
 * files, no environment), and the daemon replaces both by new objects when
 * they change (cache.ts swaps in a new rule set; a qubesd reply that differs
 * by one byte is a new SystemInfo). So a decision is looked up by the
 * identity of the two and the request's every field: a changed policy can
 * never be answered from an old one, and the answer, its log lines and its
 * notification are those evaluate() gives.
 *
 * Why: qrexec callers repeat the same few calls, and the time between
 * reading a request and writing its answer is what a busy daemon pays
 * twice for (the kernel wakes the waiting caller once when the request is
 * read; a slow answer finds it asleep again).
 */
import type { Decision } from '../policy/decision.js';
import { evaluate, type EvaluateOptions } from '../policy/evaluate.js';
import type { RuleSet } from '../policy/policy.js';
import type { RequestInput } from '../policy/request.js';
import type { SystemInfo } from '../policy/system-info.js';

/** Requests remembered per policy and system info; past this the memory starts over. */
export const MEMO_LIMIT = 16_384;

/** Put `value` in `map` under `key`; a map at `limit` starts over first (a daemon's memory must not grow without bound). */
export function remember<K, V>(map: Map<K, V>, key: K, value: V, limit = MEMO_LIMIT): V {
  if (map.size >= limit) map.clear();
  map.set(key, value);
  return value;
}

/** Memory kept per pair of objects (a rule set and a system info): gone with either. */
export type ByIdentity<A extends object, B extends object, V> = WeakMap<A, WeakMap<B, Map<string, V>>>;

/** The memory for `a` and `b`, made empty on first use. */
export function memoryFor<A extends object, B extends object, V>(by: ByIdentity<A, B, V>, a: A, b: B): Map<string, V> {
  let byB = by.get(a);
  if (byB === undefined) by.set(a, (byB = new WeakMap()));
  let known = byB.get(b);
  if (known === undefined) byB.set(b, (known = new Map()));
  return known;
}

/** Every field, each with its length: no two different requests share a key. */
function requestKey(input: RequestInput, assumeYesForAsk: boolean): string {
  const rs = input.requestedSource;
  return (
    `${input.source.length}:${input.source}${input.target.length}:${input.target}${input.service.length}:${input.service}` +
    (rs === undefined || rs === null ? '-' : `${rs.length}:${rs}`) +
    (assumeYesForAsk ? 'y' : 'n')
  );
}

export class DecisionMemo {
  private readonly byPolicy: ByIdentity<RuleSet, SystemInfo, Decision> = new WeakMap();

  constructor(private readonly limit = MEMO_LIMIT) {}

  /** evaluate(), or the decision it gave for the same request on the same rule set and system info. */
  readonly evaluate = (ruleset: RuleSet, si: SystemInfo, input: RequestInput, opts: EvaluateOptions = {}): Decision => {
    // explain's hooks watch the walk itself: never answered from memory
    if (opts.onSkip !== undefined || opts.askTrace !== undefined) return evaluate(ruleset, si, input, opts);
    const known = memoryFor(this.byPolicy, ruleset, si);
    const key = requestKey(input, opts.assumeYesForAsk === true);
    return known.get(key) ?? remember(known, key, evaluate(ruleset, si, input, opts), this.limit);
  };
}

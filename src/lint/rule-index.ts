/**
 * Indexes over the rule sequence that keep the reachability checks close to
 * linear at 10,000 rules: which earlier rules could cover a rule, and which
 * later rules could see its callers. They only narrow the search; the
 * decisions are cover.ts's.
 */
import type { Rule } from '../parser/rule.js';
import type { Token } from '../parser/tokens.js';
import { tokenKey } from './cover.js';

/** The tokens that can cover tokens other than themselves (cover.ts): `*`, `@anyvm`, dom0. */
const WIDE = ['*', '@anyvm', '@adminvm'];

function columnsKey(service: string | null, argument: string | null, source: string, target: string): string {
  return `${service ?? '*'}\0${argument ?? '*'}\0${source}\0${target}`;
}

/** A service or argument column and `*` (null), once each. */
function withWildcard(v: string | null): Array<string | null> {
  return v === null ? [null] : [v, null];
}

/** A token key and the wide keys, once each. */
function withWide(key: string): string[] {
  return WIDE.includes(key) ? WIDE : [key, ...WIDE];
}

/** A plain qube name as SOURCE: it can only meet callers that the same name, or a non-name token, meets. */
function nameSource(r: Rule): boolean {
  return r.source.kind === 'qube' && r.source.ref.by === 'name';
}

/** First index in the sorted `list` that is greater than `i`. */
function firstAfter(list: readonly number[], i: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]! <= i) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The rules that can meet a service's requests, in lists by ARGUMENT (the
 * argument itself, `*`, or ANY for all of them) and by SOURCE (one plain
 * name, `other` for the tokens that are not names, or `all`).
 */
type Bucket = Map<string, number[]>;

const ANY_ARGUMENT = '\0any';

function bucketKey(argument: string, source: string): string {
  return `${argument}\0${source}`;
}

export class RuleIndex {
  /** The first rule of each combination of columns: rules alike in all four columns cover alike. */
  private readonly first = new Map<string, number>();
  /** Rule indexes by service, `*` rules in every list, in policy order. */
  private readonly byService = new Map<string, number[]>();
  private readonly wildcard: number[] = [];
  private readonly buckets = new Map<string | null, Bucket>();

  constructor(private readonly rules: readonly Rule[]) {
    rules.forEach((r, i) => {
      const key = columnsKey(r.service, r.argument, tokenKey(r.source), tokenKey(r.target));
      if (!this.first.has(key)) this.first.set(key, i);
      if (r.service === null) {
        this.wildcard.push(i);
        for (const list of this.byService.values()) list.push(i);
        return;
      }
      let list = this.byService.get(r.service);
      if (list === undefined) {
        list = [...this.wildcard];
        this.byService.set(r.service, list);
      }
      list.push(i);
    });
  }

  /**
   * Rules before `before` that could cover a request of `rule` whose source
   * and target fall in `src` and `tgt`, in policy order: the first rule of
   * every combination of columns that can (its own or `*` service and
   * argument, the same or a wide SOURCE and TARGET).
   */
  coverCandidates(rule: Rule, src: Token, tgt: Token, before: number): number[] {
    // each rule has one combination, so the indexes found are distinct
    const out: number[] = [];
    for (const s of withWildcard(rule.service))
      for (const a of withWildcard(rule.argument))
        for (const sk of withWide(tokenKey(src)))
          for (const tk of withWide(tokenKey(tgt))) {
            const j = this.first.get(columnsKey(s, a, sk, tk));
            if (j !== undefined && j < before) out.push(j);
          }
    return out.sort((x, y) => x - y);
  }

  private bucket(service: string | null): Bucket {
    let b = this.buckets.get(service);
    if (b === undefined) {
      b = new Map();
      const all = service === null ? this.rules.map((_, i) => i) : this.byService.get(service)!;
      for (const i of all) {
        const r = this.rules[i]!;
        for (const arg of [r.argument ?? '*', ANY_ARGUMENT])
          for (const src of [nameSource(r) ? 'n:' + tokenKey(r.source) : 'other', 'all']) {
            const key = bucketKey(arg, src);
            const list = b.get(key) ?? [];
            list.push(i);
            b.set(key, list);
          }
      }
      this.buckets.set(service, b);
    }
    return b;
  }

  /**
   * Rules after `i`, in policy order, that could see a caller of rule `i`
   * (a superset of those whose service, argument and source may overlap it).
   */
  *later(i: number): Generator<number> {
    const rule = this.rules[i]!;
    const b = this.bucket(rule.service);
    const args = rule.argument === null ? [ANY_ARGUMENT] : [rule.argument, '*'];
    // a name meets only the same name and the tokens that are not names; dom0 meets no name
    const sources = nameSource(rule) ? ['n:' + tokenKey(rule.source), 'other'] : rule.source.kind === 'adminvm' ? ['other'] : ['all'];
    const lists = args.flatMap((a) => sources.map((s) => b.get(bucketKey(a, s)) ?? []));
    const at = lists.map((l) => firstAfter(l, i));
    for (;;) {
      let best = -1;
      lists.forEach((l, k) => {
        if (at[k]! < l.length && (best < 0 || l[at[k]!]! < lists[best]![at[best]!]!)) best = k;
      });
      if (best < 0) return;
      yield lists[best]![at[best]!++]!;
    }
  }
}

/**
 * The semantic diff of two policies (issue 16): for every request in the
 * space `list` enumerates (every qube as caller × every target a caller can
 * name × every SERVICE[+ARG] either policy mentions, plus "any other
 * service"), the decision before and after, keeping those whose outcome
 * changed (outcome.ts).
 *
 * Deciding every request twice would be millions of evaluations on a big
 * dom0, so whole blocks of requests are skipped when it is certain that
 * they are decided alike. The argument, from the evaluator (SPEC §3.2):
 * a request's decision depends only on the rules whose service, argument
 * and source match it, in order (the first of them whose target matches
 * decides; an ask collects targets from the same rules). Rules that do not
 * match the caller never decide and never add ask targets. So:
 *  - a service whose candidate rules are the same in both policies (same
 *    columns and parameters, wherever they live) decides every request alike;
 *  - otherwise, a caller for whom the matching rules are the same decides
 *    every target alike;
 *  - otherwise, a target whose first matching rule behaves alike in both
 *    (and, for an ask, offers the same collected targets) is decided alike;
 *  - only the remaining requests are evaluated, in both policies.
 * Tests check the result against evaluating every request of the space.
 */
import { paramValueList } from '../parser/params.js';
import type { Rule } from '../parser/rule.js';
import { expected } from '../errors.js';
import { evaluateRequest } from '../policy/evaluate.js';
import { sortedAskTargets } from '../policy/ask.js';
import type { Decision } from '../policy/decision.js';
import { EvaluationFault, matchesServiceArgument, matchesSource, matchesTarget } from '../policy/match.js';
import { ruleList, type Policy, type RuleSet } from '../policy/policy.js';
import { parseRequest, splitServiceArg, type Request, type Source } from '../policy/request.js';
import type { Token } from '../parser/tokens.js';
import type { SystemInfo } from '../policy/system-info.js';
import { ruleMentions, serviceEntries, sourcesOf, targetsOf, type Mentions, type ServiceEntry } from '../list/axes.js';
import { sameOutcome, type Side } from './outcome.js';

export interface Change {
  readonly source: string;
  readonly target: string;
  readonly entry: ServiceEntry;
  readonly before: Side;
  readonly after: Side;
}

export interface DiffResult {
  readonly changes: Change[];
  /** Requests in the space (each decided alike unless listed in `changes`). */
  readonly requests: number;
  /** Requests actually evaluated (twice each); the rest were proven alike. */
  readonly evaluated: number;
}

/** The request space of two policies: the union of what each mentions, over one system. */
export interface Space {
  readonly entries: readonly ServiceEntry[];
  readonly sources: readonly string[];
  readonly targets: readonly string[];
}

function unionMentions(a: Mentions, b: Mentions): Mentions {
  const out = new Map<string, Set<string>>();
  for (const m of [a, b])
    for (const [service, args] of m) {
      let s = out.get(service);
      if (s === undefined) out.set(service, (s = new Set()));
      for (const x of args) s.add(x);
    }
  return out;
}

export function diffSpace(before: Policy, after: Policy, si: SystemInfo): Space {
  return {
    entries: serviceEntries(unionMentions(ruleMentions(before.rules), ruleMentions(after.rules))),
    sources: sourcesOf(si),
    targets: targetsOf(si),
  };
}

/** What a rule does once it matches a caller: everything but its place and its source column. */
function behaviourKey(r: Rule): string {
  let k = behaviourKeys.get(r);
  if (k === undefined) behaviourKeys.set(r, (k = behaviourText(r)));
  return k;
}

const behaviourKeys = new WeakMap<Rule, string>();

function behaviourText(r: Rule): string {
  return JSON.stringify([
    r.target.kind,
    r.target.text,
    r.action,
    ...paramValueList(r),
  ]);
}

/** A rule's columns and parameters, not its place: equal keys decide alike everywhere. */
function ruleKey(r: Rule): string {
  return JSON.stringify([r.service, r.argument, r.source.kind, r.source.text, behaviourKey(r)]);
}

/** A valid service for parsing a target alone (its rules do not matter). */
const PROBE_SERVICE = 'diff.Probe';

const listKeys = new WeakMap<readonly Rule[], string>();

function candidatesKey(rules: readonly Rule[]): string {
  let k = listKeys.get(rules);
  if (k === undefined) listKeys.set(rules, (k = rules.map(ruleKey).join('\n')));
  return k;
}

/**
 * The rules that can decide requests of one service from one caller (SPEC §3.2),
 * in order. Matching a known caller never faults (only an unknown caller
 * compared with a `uuid:` form does), and every caller of the space is a qube.
 */
function callerRules(rules: readonly Rule[], req: Request, si: SystemInfo): Rule[] {
  return rules.filter((r) => matchesServiceArgument(r, req) && sourceMatches(r.source, req.source, si));
}

/**
 * matchesSource, given the system info: main's matching (a6fca80, "Match,
 * expand and verify values the way Qubes does") takes it as a third
 * argument; this branch's ignores it. Either way this is the evaluator's own
 * source test.
 */
const sourceMatches = matchesSource as (tok: Token, src: Source, si: SystemInfo) => boolean;

function callerRuleSet(rules: readonly Rule[]): RuleSet {
  const candidates = ruleList(rules);
  return { error: null, candidates: () => candidates };
}

function sameKeys(a: readonly Rule[], b: readonly Rule[]): boolean {
  return a.length === b.length && a.every((r, i) => behaviourKey(r) === behaviourKey(b[i]!));
}

/** The first of a caller's rules whose target matches (null: none), or undefined when matching faults. */
function decidingRule(rules: readonly Rule[], req: Request, si: SystemInfo): Rule | null | undefined {
  try {
    for (const r of rules) if (matchesTarget(r.target, req.target, req.source, si)) return r;
    return null;
  } catch (err) {
    expected(err, EvaluationFault);
    return undefined;
  }
}

/** The offered targets of an ask from this caller, or null when they cannot be collected. */
function askTargets(rules: readonly Rule[], req: Request, si: SystemInfo): readonly string[] | null {
  try {
    return sortedAskTargets(rules, req, si);
  } catch (err) {
    expected(err, EvaluationFault);
    return null;
  }
}

/**
 * Is the decision for this request certainly the same in both policies,
 * without evaluating it? A decision is made from the first matching rule's
 * target column, action and parameters, the request, the system, and for an
 * ask without `target=` the targets collected from the caller's rules. So
 * two deciding rules that behave alike give the same decision when the
 * collected targets are the same or not used.
 */
function decidedAlike(oldRules: readonly Rule[], newRules: readonly Rule[], req: Request, si: SystemInfo, askAlike: () => boolean): boolean {
  const a = decidingRule(oldRules, req, si);
  const b = decidingRule(newRules, req, si);
  if (a === undefined || b === undefined) return false;
  if (a === null || b === null) return a === b;
  if (behaviourKey(a) !== behaviourKey(b)) return false;
  return a.action !== 'ask' || a.redirect !== null || askAlike();
}

/**
 * Decisions as the small Side values a diff keeps. A big diff holds
 * millions of changes made by a few rules: sides are shared per (rule,
 * target) for an allow, per (rule, offered list, default) for an ask, per
 * rule for a deny, so memory grows with the changes, not with decisions.
 * (One caller's asks offer one or two distinct lists, compared in full.)
 */
class Sides {
  private readonly denies = new Map<Rule | null, Side>();
  private readonly allows = new Map<Rule | null, Map<string, Side>>();
  /** Ask sides of the current caller (offered lists depend on the caller, see newCaller()). */
  private asks = new Map<Rule | null, Array<Side & { result: 'ask' }>>();

  /** A new (service, caller) pair: its asks offer lists of their own. */
  newCaller(): void {
    this.asks = new Map();
  }

  of(d: Decision): Side {
    switch (d.result) {
      case 'deny': {
        // a deny for another reason (autostart, loopback, …) says why: kept as it is
        if (!(d.kind === 'rule' || d.kind === 'no-rule')) return { result: 'deny', rule: d.rule, reason: d.reason };
        let s = this.denies.get(d.rule);
        if (s === undefined) this.denies.set(d.rule, (s = { result: 'deny', rule: d.rule, reason: d.kind === 'rule' ? null : d.reason }));
        return s;
      }
      case 'allow': {
        let byTarget = this.allows.get(d.rule);
        if (byTarget === undefined) this.allows.set(d.rule, (byTarget = new Map()));
        let s = byTarget.get(d.target);
        if (s === undefined) byTarget.set(d.target, (s = { result: 'allow', target: d.target, rule: d.rule }));
        return s;
      }
      case 'ask': {
        let list = this.asks.get(d.rule);
        if (list === undefined) this.asks.set(d.rule, (list = []));
        const t = d.targets;
        let s = list.find((x) => x.defaultTarget === d.defaultTarget && x.targets.length === t.length && x.targets.every((v, i) => v === t[i]));
        if (s === undefined) list.push((s = { result: 'ask', targets: t, defaultTarget: d.defaultTarget, rule: d.rule }));
        return s;
      }
    }
  }
}

/**
 * Compare every request of the space. Both policies must have loaded
 * without errors (a policy with errors denies everything; say so instead).
 */
export function diffPolicies(before: Policy, after: Policy, si: SystemInfo, space: Space = diffSpace(before, after, si)): DiffResult {
  const changes: Change[] = [];
  const sides = new Sides();
  let evaluated = 0;
  // each target parsed once (requests are assembled from it and the caller's probe below);
  // one that no request may name is denied alike on both sides
  const targets = space.targets.map((target) => {
    const parsed = parseRequest({ source: '', target, service: PROBE_SERVICE }, si);
    return parsed.ok ? { text: target, value: parsed.request.target, warnings: parsed.request.warnings } : null;
  });
  for (const entry of space.entries) {
    const { service } = splitServiceArg(entry.request);
    const oldAll = before.rulesFor(service);
    const newAll = after.rulesFor(service);
    if (candidatesKey(oldAll) === candidatesKey(newAll)) continue;
    for (const source of space.sources) {
      const probe = parseRequest({ source, target: '@default', service: entry.request }, si);
      // a caller or service no request may name (too long): every request is denied alike
      if (!probe.ok) continue;
      const oldRules = callerRules(oldAll, probe.request, si);
      const newRules = callerRules(newAll, probe.request, si);
      if (sameKeys(oldRules, newRules)) continue;
      // the evaluator over just the caller's rules: the same decisions (see above), fewer rules to walk
      sides.newCaller();
      const oldCaller = callerRuleSet(oldRules);
      const newCaller = callerRuleSet(newRules);
      let askAlike: boolean | undefined;
      const askSame = () => {
        if (askAlike === undefined) {
          const a = askTargets(oldAll, probe.request, si);
          const b = askTargets(newAll, probe.request, si);
          askAlike = a !== null && b !== null && a.length === b.length && a.every((t, i) => t === b[i]);
        }
        return askAlike;
      };
      for (const target of targets) {
        if (target === null) continue;
        // what parseRequest() gives for this request: the probe checked the caller and service
        const req: Request = { ...probe.request, target: target.value, warnings: target.warnings };
        if (decidedAlike(oldRules, newRules, req, si, askSame)) continue;
        const b = evaluateRequest(oldCaller, si, req);
        const a = evaluateRequest(newCaller, si, req);
        evaluated++;
        if (!sameOutcome(b, a)) changes.push({ source, target: target.text, entry, before: sides.of(b), after: sides.of(a) });
      }
    }
  }
  return { changes, requests: space.entries.length * space.sources.length * space.targets.length, evaluated };
}

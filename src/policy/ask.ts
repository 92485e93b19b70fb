/**
 * The targets an `ask` offers (SPEC §3.2): walk every rule for the service in
 * reverse, add what allow/ask rules could reach and remove what deny rules
 * forbid, then resolve `@dispvm` and dom0 and drop the caller itself and
 * internal qubes.
 */
import type { Rule } from '../parser/rule.js';
import type { Token } from '../parser/tokens.js';
import { defaultDispvmName, EvaluationFault, matchesServiceArgument, matchesSource } from './match.js';
import type { Request, Source } from './request.js';
import type { SystemInfo } from './system-info.js';
import { codePointSort } from './decision.js';
import { expected } from '../errors.js';

/** Explain hooks: where each offered target came from. */
export interface AskTrace {
  /** A rule added (allow/ask) or removed (deny) these values. */
  rule(rule: Rule, op: 'add' | 'remove', values: readonly string[]): void;
  /** A post-processing step changed the set. */
  step(what: string, removed: readonly string[], added: readonly string[]): void;
}

/**
 * Every concrete target a rule's target (or `target=`) token can stand for,
 * by name (the agent shows names, never uuids: `uuid:U` and `@dispvm:uuid:U`
 * become their qube's name). `dom0` and the zero uuid written in a rule are
 * names here (they stand for dom0 only when the system info has them);
 * `@adminvm` is itself.
 */
export function expandTarget(tok: Token, si: SystemInfo, rule: Rule | null): readonly string[] {
  switch (tok.kind) {
    case 'qube':
    case 'adminvm': {
      if (tok.text === '@adminvm') return ['@adminvm'];
      const q = si.lookup(tok.text);
      return q ? [q.name] : [];
    }
    case 'anyvm':
      return si.everything(false);
    case 'any':
      return si.everything(true);
    case 'tag':
      return si.withTag(tok.tag);
    case 'type':
      return si.ofType(tok.type);
    case 'dispvm-tag':
      return si.dispvmsWithTag(tok.tag);
    case 'dispvm-template': {
      const q = si.lookup(tok.text.slice('@dispvm:'.length));
      // the reference looks the template up unguarded and crashes on a missing one
      if (q === undefined) throw new EvaluationFault(`${tok.text} names no qube`, rule);
      return q.templateForDispvms ? ['@dispvm:' + q.name] : [];
    }
    case 'dispvm':
      return ['@dispvm'];
    case 'default':
      return [];
  }
}

/**
 * The offered targets depend on the service's rules, the argument and the
 * caller, never on the requested target, and rule lists and system info are
 * immutable: tools that evaluate many targets for one caller (list, graph,
 * the daemon) reuse the sorted result. Faults are remembered as well.
 */
const sortedCache = new WeakMap<SystemInfo, WeakMap<readonly Rule[], Map<string, readonly string[] | EvaluationFault>>>();

/** The ask targets, sorted by code point; cached per (system info, rule list, caller, argument). */
export function sortedAskTargets(rules: readonly Rule[], req: Request, si: SystemInfo): readonly string[] {
  let bySi = sortedCache.get(si);
  if (bySi === undefined) sortedCache.set(si, (bySi = new WeakMap()));
  let byRules = bySi.get(rules);
  if (byRules === undefined) bySi.set(rules, (byRules = new Map()));
  // the source text counts too: an unknown caller or a uuid spelling changes matching
  const key = `${req.source.text}\0${req.source.qube?.name ?? ''}\0${req.argument}`;
  let hit = byRules.get(key);
  if (hit === undefined) {
    try {
      hit = codePointSort(collectAskTargets(rules, req, si));
    } catch (err) {
      expected(err, EvaluationFault);
      hit = err;
    }
    byRules.set(key, hit);
  }
  if (hit instanceof EvaluationFault) throw hit;
  return hit;
}

/**
 * The caller by name and by `uuid:` (the offer never includes the caller).
 * The reference looks both up unguarded: an unknown caller, or one without
 * a uuid, makes it crash.
 */
function callerSpellings(src: Source): [string, string] {
  const q = src.qube;
  if (q === null) throw new EvaluationFault(`${src.text} is not in the system info, so the ask targets cannot be collected`);
  if (src.text.startsWith('uuid:')) return [q.name, src.text];
  if (q.uuid === null) throw new EvaluationFault(`${src.text} has no uuid in the system info, so the ask targets cannot be collected`);
  return [src.text, 'uuid:' + q.uuid];
}

/** Collect the ask targets for a request over the candidate rules (policy order). */
export function collectAskTargets(rules: readonly Rule[], req: Request, si: SystemInfo, trace?: AskTrace): Set<string> {
  const self = callerSpellings(req.source);
  const targets = new Set<string>();
  for (let i = rules.length - 1; i >= 0; i--) {
    const rule = rules[i]!;
    if (!matchesServiceArgument(rule, req) || !matchesSource(rule.source, req.source, si)) continue;
    // a deny rule removes what its target column names; allow/ask add their target= or target column
    const tok = rule.action !== 'deny' && rule.redirect !== null ? rule.redirect : rule.target;
    const values = expandTarget(tok, si, rule);
    if (rule.action === 'deny') {
      const removed = trace ? values.filter((v) => targets.has(v)) : values;
      for (const v of values) targets.delete(v);
      trace?.rule(rule, 'remove', removed);
    } else {
      const added = trace ? values.filter((v) => !targets.has(v)) : values;
      for (const v of values) targets.add(v);
      trace?.rule(rule, 'add', added);
    }
  }

  if (targets.delete('@dispvm')) {
    const dflt = defaultDispvmName(req.source);
    const added = dflt === null ? [] : ['@dispvm:' + dflt];
    for (const a of added) targets.add(a);
    trace?.step(`@dispvm stands for the default disposable template of ${req.source.text}`, ['@dispvm'], added);
  }
  if (targets.delete('@adminvm')) {
    targets.add('dom0');
    trace?.step('@adminvm is offered as dom0', ['@adminvm'], ['dom0']);
  }
  const droppedSelf = self.filter((s) => targets.delete(s));
  if (droppedSelf.length) trace?.step('a qube cannot call itself', droppedSelf, []);
  const internal: string[] = [];
  for (const t of targets) {
    const name = t.startsWith('@dispvm:') ? t.slice('@dispvm:'.length) : t;
    const q = si.lookup(name);
    // the reference looks every offered name up unguarded
    if (q === undefined) throw new EvaluationFault(`ask target ${t} names no qube in the system info`);
    if (q.internal) internal.push(t);
  }
  for (const t of internal) targets.delete(t);
  if (internal.length) trace?.step('internal qubes are never offered', internal, []);
  return targets;
}

/**
 * evaluate(): request + policy + system info → Decision (SPEC §3.2–§3.4).
 * Pure and synchronous; never throws for a denial, and turns every internal
 * surprise into a deny (fail closed).
 */
import { expected } from '../errors.js';
import { ruleWhere, type Rule } from '../parser/rule.js';
import { isDom0Text, type Token } from '../parser/tokens.js';
import { collectAskTargets, sortedAskTargets, type AskTrace } from './ask.js';
import {
  codePointSort,
  type AllowDecision,
  type AskDecision,
  type Decision,
  type DenyDecision,
  type DenyKind,
  type Destination,
} from './decision.js';
import { defaultDispvmName, EvaluationFault, matchesSource, ruleMatches } from './match.js';
import type { RuleSet } from './policy.js';
import { isKnownSource, normaliseTarget, parseRequest, type Request, type RequestInput, type Source, type TargetValue } from './request.js';
import { TokenError } from '../parser/tokens.js';
import type { Qube, SystemInfo } from './system-info.js';
import { allowLines, unsendable } from './block-lines.js';

export interface EvaluateOptions {
  /** Turn `ask` into `allow` for the requested target, if it is offered (SPEC §3.2). */
  assumeYesForAsk?: boolean;
  /** Called for every rule passed over before the deciding one (explain). */
  onSkip?: (rule: Rule) => void;
  /** Where ask targets came from (explain). */
  askTrace?: AskTrace;
}

type Base = Omit<DenyDecision, 'result' | 'kind' | 'reason' | 'notify'>;

// Decisions are built with every field written out in one order (no spreads): one
// object shape per result keeps the per-request path monomorphic and fast.
/** A denial with the request fields of `base` (any decision for the same request will do). */
export function deny(base: Base, kind: DenyKind, reason: string, notify = true, rule: Rule | null = base.rule): DenyDecision {
  return {
    result: 'deny',
    service: base.service,
    argument: base.argument,
    source: base.source,
    requestedTarget: base.requestedTarget,
    rule,
    warnings: base.warnings,
    requestedSource: base.requestedSource,
    kind,
    reason,
    notify,
  };
}

/** A target after `target=` redirection and verification, before final checks. */
type Resolved = { ok: true; value: TargetValue } | { ok: false; kind: DenyKind; reason: string };

/** A `target=` verified the way Qubes verifies it: exactly like a requested target. */
function redirectValue(tok: Token, si: SystemInfo, warnings: string[]): Resolved {
  try {
    return { ok: true, value: normaliseTarget(tok.text, si, warnings) };
  } catch (err) {
    expected(err, TokenError);
    return { ok: false, kind: 'unusable-target', reason: err.message };
  }
}

interface AllowParams {
  rule: Rule;
  user: string | null;
  autostart: boolean;
  notify: boolean;
  /** Apply the autostart=no check (not for an ask the user already answered). */
  checkAutostart: boolean;
}

/** Whether `autostart=no` lets the call through: dom0, or a qube already running (a new disposable never is). */
function runsWithoutAutostart(target: string, value: TargetValue): boolean {
  if (isDom0Text(target)) return true;
  if (target.startsWith('@dispvm')) return false;
  return value.kind === 'qube' && value.qube.powerState === 'Running';
}

/**
 * SPEC §3.2: an allow to the caller itself is denied however either is
 * spelled (Qubes compares the two as text, so `work` could reach
 * `uuid:<work's uuid>`).
 */
function isLoopback(src: Source, target: string, si: SystemInfo): boolean {
  if (target.startsWith('@dispvm')) return false;
  if (src.text === target) return true;
  // a dom0 spelling means dom0 whatever qube a uuid key would name
  const denoted = (text: string) => (isDom0Text(text) ? 'dom0' : (si.lookup(text)?.name ?? null));
  const self = denoted(src.text);
  return self !== null && self === denoted(target);
}

/**
 * An allow's final steps, in the order Qubes takes them: the final target
 * (`@default`: none; `@dispvm`: the caller's default template; `@adminvm`:
 * dom0), `autostart=no`, the loopback check, then what the result block
 * needs (a template, a relay, uuids).
 */
function allowTo(value: TargetValue, req: Request, si: SystemInfo, base: Base, p: AllowParams): Decision {
  const { rule } = p;
  let target: string;
  switch (value.kind) {
    case 'default':
      return deny(
        base,
        'no-target',
        `policy define 'allow' action at ${ruleWhere(rule)} but no target is specified by caller or policy`,
      );
    case 'dispvm': {
      const name = defaultDispvmName(req.source);
      if (name === null)
        return deny(
          base,
          'no-target',
          `policy define 'allow' action to @dispvm at ${ruleWhere(rule)} but no DispVM base is set for this VM`,
        );
      target = '@dispvm:' + name;
      break;
    }
    case 'dom0':
      // `@adminvm` is reported as dom0; `dom0` and a uuid spelling stay as written
      target = value.text === '@adminvm' ? 'dom0' : value.text;
      break;
    default:
      target = value.text;
  }

  if (p.checkAutostart && !p.autostart && !runsWithoutAutostart(target, value))
    return deny(base, 'autostart', `target ${target} is denied because it would require autostart`, p.notify);
  if (isLoopback(req.source, target, si)) return deny(base, 'loopback', 'loopback qrexec connection not supported');

  let destination: Destination;
  if (value.kind === 'dom0') {
    destination = { kind: 'dom0' };
  } else if (value.kind === 'dispvm' || value.kind === 'dispvm-template') {
    const tpl = value.kind === 'dispvm-template' ? value.template : si.lookup(target.slice('@dispvm:'.length));
    if (tpl === undefined) throw new EvaluationFault(`default_dispvm ${target.slice('@dispvm:'.length)} of ${req.source.text} does not exist`, rule);
    // SPEC §3.2: a disposable only from a template for disposables (Qubes would try any default_dispvm)
    if (!tpl.templateForDispvms)
      return deny(base, 'unusable-target', `default_dispvm ${tpl.name} of ${req.source.text} is not a disposable template`);
    destination = { kind: 'dispvm', template: tpl };
  } else {
    const q = value.qube;
    if (q.type === 'RemoteVM') {
      if (!q.relayvm) return deny(base, 'unusable-target', `${target}: relayvm is not set`);
      if (!q.transportRpc) return deny(base, 'unusable-target', `${target}: transport RPC is not set`);
      const relay = si.lookup(q.relayvm);
      if (relay === undefined) throw new EvaluationFault(`relayvm ${q.relayvm} of ${q.name} does not exist`, rule);
      destination = { kind: 'remote', remote: q, relay, transportRpc: q.transportRpc };
      if (p.user) base.warnings.push(`user=${p.user} of ${ruleWhere(rule)} is ignored for RemoteVM ${q.name}`);
    } else {
      destination = { kind: 'qube', qube: q };
    }
  }

  // the result block must name uuids: fail closed when system info lacks them (Qubes crashes)
  const needUuid: Qube | null =
    destination.kind === 'qube' ? destination.qube : destination.kind === 'dispvm' ? destination.template : destination.kind === 'remote' ? destination.relay : null;
  if (needUuid !== null && needUuid.uuid === null) return deny(base, 'unusable-target', `system info gives no uuid for ${needUuid.name}`);

  if (!isKnownSource(req.source, si))
    return deny(base, 'unknown-source', `source ${JSON.stringify(req.source.text)} is not a known qube`);

  const allow: AllowDecision = {
    result: 'allow',
    service: base.service,
    argument: base.argument,
    source: base.source,
    requestedTarget: base.requestedTarget,
    rule,
    warnings: base.warnings,
    requestedSource: base.requestedSource,
    target,
    destination,
    user: p.user,
    autostart: p.autostart,
    notify: p.notify,
  };
  // every front end denies what qrexec-daemon could not be told (SPEC §8)
  const problem = unsendable(allowLines(allow));
  if (problem !== null)
    return deny(base, 'unsendable', `the result block for ${target} cannot be sent to qrexec-daemon (${problem}); rule ${ruleWhere(rule)}`);
  return allow;
}

/** An ask offers dom0 as `dom0`, whichever way a rule spells it; other values as written. */
function offered(tok: Token): string {
  return isDom0Text(tok.text) ? 'dom0' : tok.text;
}

function askDecision(rule: Rule, rules: readonly Rule[], req: Request, si: SystemInfo, base: Base, opts: EvaluateOptions): Decision {
  // already sorted; filtering below keeps the order
  let targets: readonly string[];
  if (rule.redirect !== null) {
    targets = [offered(rule.redirect)];
  } else if (opts.askTrace) {
    targets = codePointSort(collectAskTargets(rules, req, si, opts.askTrace));
  } else {
    targets = sortedAskTargets(rules, req, si);
  }
  if (!rule.autostart) {
    targets = targets.filter((t) => {
      if (isDom0Text(t)) return true;
      if (t.startsWith('@dispvm')) return false;
      const q = si.lookup(t);
      // the reference asserts the target exists here
      if (q === undefined) throw new EvaluationFault(`ask target ${t} does not exist (autostart=no)`, rule);
      return q.powerState === 'Running';
    });
  }
  if (targets.length === 0)
    return deny(base, 'no-target', `policy define 'ask' action at ${ruleWhere(rule)} but no target is available to choose from`);

  let defaultTarget: string | null = null;
  if (rule.defaultTarget !== null) {
    const dt = rule.defaultTarget;
    if (dt.kind === 'dispvm') {
      const name = defaultDispvmName(req.source);
      defaultTarget = name === null ? null : '@dispvm:' + name;
      if (name === null) base.warnings.push(`default_target @dispvm is ignored: ${req.source.text} has no default_dispvm`);
    } else {
      defaultTarget = offered(dt);
    }
    if (defaultTarget !== null && !targets.includes(defaultTarget)) {
      base.warnings.push(`default_target ${dt.text} is not among the offered targets; ignored`);
      defaultTarget = null;
    }
  }

  if (!isKnownSource(req.source, si))
    return deny(base, 'unknown-source', `source ${JSON.stringify(req.source.text)} is not a known qube`);

  // compared as written: `@adminvm` is not `dom0`, `@dispvm` is not `@dispvm:X` (as Qubes does)
  if (opts.assumeYesForAsk) return acceptTarget(rule, targets, req.target, req, si, base);

  const ask: AskDecision = {
    result: 'ask',
    service: base.service,
    argument: base.argument,
    source: base.source,
    requestedTarget: base.requestedTarget,
    rule,
    warnings: base.warnings,
    requestedSource: base.requestedSource,
    targets: targets.slice(),
    defaultTarget,
    user: rule.user,
    autostart: rule.autostart,
    notify: rule.notify,
  };
  return ask;
}

/** An ask answered with `chosen`: allowed only if it is one of the offered targets. */
function acceptTarget(
  rule: Rule,
  targets: readonly string[],
  chosen: TargetValue,
  req: Request,
  si: SystemInfo,
  base: Base,
): Decision {
  if (!targets.includes(chosen.text))
    return deny(base, 'not-in-ask-targets', `target ${chosen.text} is not a valid choice`);
  // an answered ask runs the chosen value as it is: `@dispvm` names no qube to start (Qubes fails on it)
  if (chosen.kind === 'dispvm') return deny(base, 'unusable-target', 'target @dispvm of an answered ask names no disposable template');
  return allowTo(chosen, req, si, base, {
    rule,
    user: rule.user,
    autostart: rule.autostart,
    notify: rule.notify,
    checkAutostart: false,
  });
}

/**
 * The user answered an ask with `allow:TARGET`: the same checks as
 * --assume-yes-for-ask, for the target the user picked.
 */
export function confirmAsk(d: AskDecision, chosen: string, si: SystemInfo, input: RequestInput): Decision {
  const parsed = parseRequest(input, si);
  const base: Base = {
    service: d.service,
    argument: d.argument,
    source: d.source,
    requestedTarget: d.requestedTarget,
    rule: d.rule,
    warnings: [],
    requestedSource: d.requestedSource,
  };
  if (!parsed.ok || d.rule === null) return deny(base, 'fault', 'ask answered for a request that no longer evaluates');
  let value: TargetValue;
  try {
    value = normaliseTarget(chosen, si, base.warnings);
  } catch (err) {
    expected(err, TokenError);
    return deny(base, 'not-in-ask-targets', `target ${chosen} is not a valid choice`);
  }
  if (value.text !== chosen) return deny(base, 'not-in-ask-targets', `target ${chosen} is not a valid choice`);
  return acceptTarget(d.rule, d.targets, value, parsed.request, si, base);
}

/**
 * Most of a service's rules name their caller (a qube, a tag, a type): a
 * request need only walk those whose SOURCE column admits its caller. The
 * first-match test checks the service and argument, then the source, then
 * the target, so a rule whose source does not match is passed over without
 * looking at its target (nor failing on it): dropping those rules beforehand
 * keeps the first match, and the ask walk (which skips them too), exactly.
 * The lists depend only on the rule list, the system info (both immutable)
 * and the caller, so they are kept per caller; at most MAX_SOURCE_LISTS
 * callers per rule list (the callers are qubes, but a cache must not grow
 * without bound on anyone's say).
 */
const bySource = new WeakMap<SystemInfo, WeakMap<readonly Rule[], Map<string, readonly Rule[]>>>();
const MAX_SOURCE_LISTS = 4096;

/** The rules of `rules` whose SOURCE column admits the caller, in policy order. */
export function rulesForSource(rules: readonly Rule[], src: Source, si: SystemInfo): readonly Rule[] {
  let bySi = bySource.get(si);
  if (bySi === undefined) bySource.set(si, (bySi = new WeakMap()));
  let byCaller = bySi.get(rules);
  if (byCaller === undefined) bySi.set(rules, (byCaller = new Map()));
  // the caller's qube and dom0-ness follow from its text and the system info (request.ts)
  const key = src.text;
  let hit = byCaller.get(key);
  if (hit === undefined) {
    if (byCaller.size >= MAX_SOURCE_LISTS) byCaller.clear();
    hit = rules.filter((r) => matchesSource(r.source, src, si));
    byCaller.set(key, hit);
  }
  return hit;
}

/** Evaluate a parsed request against a rule set. */
export function evaluateRequest(ruleset: RuleSet, si: SystemInfo, req: Request, opts: EvaluateOptions = {}): Decision {
  const base: Base = {
    service: req.service,
    argument: req.argument,
    source: req.source.text,
    requestedTarget: req.target.text,
    rule: null,
    // copied only when there is something to copy (the common request has no warnings)
    warnings: req.warnings.length ? [...req.warnings] : [],
    requestedSource: req.requestedSource,
  };
  if (ruleset.error !== null) return deny(base, 'load-error', `policy failed to load: ${ruleset.error.describe()}`);
  const candidates = ruleset.candidates(req.service, req.argument);
  if (candidates.kind === 'error') return deny(base, 'load-error', `policy failed to load: ${candidates.error.describe()}`);
  if (candidates.kind === 'not-found') return deny(base, 'no-rule', `policy not found for ${req.service}${req.argument}`);
  // explain reports every rule passed over: it walks them all
  const rules = opts.onSkip === undefined ? rulesForSource(candidates.rules, req.source, si) : candidates.rules;

  let rule: Rule | null = null;
  try {
    for (const r of rules) {
      if (ruleMatches(r, req, si)) {
        rule = r;
        break;
      }
      opts.onSkip?.(r);
    }
    if (rule === null) return deny(base, 'no-rule', 'no matching rule found');
    base.rule = rule;
    switch (rule.action) {
      case 'deny':
        return deny(base, 'rule', `denied by policy ${ruleWhere(rule)}`, rule.notify);
      case 'allow': {
        const resolved: Resolved = rule.redirect !== null ? redirectValue(rule.redirect, si, base.warnings) : { ok: true, value: req.target };
        if (!resolved.ok) return deny(base, resolved.kind, resolved.reason);
        return allowTo(resolved.value, req, si, base, {
          rule,
          user: rule.user,
          autostart: rule.autostart,
          notify: rule.notify,
          checkAutostart: true,
        });
      }
      case 'ask':
        return askDecision(rule, rules, req, si, base, opts);
    }
  } catch (err) {
    expected(err, EvaluationFault);
    const at = err.rule ?? rule;
    const inRule = at ? ` (rule ${ruleWhere(at)})` : '';
    return deny(base, 'fault', `denied to fail closed: ${err.message}${inRule}; Qubes cannot evaluate this request either`, true, at);
  }
}

/**
 * The denial of a request that could not be evaluated at all: no system
 * info (`load-error`), or a request that is not one (`bad-request`, such as
 * an unreadable batch line). Nothing of the request is known but its source.
 */
export function denyUnevaluated(kind: 'load-error' | 'bad-request', reason: string, source: string, requestedSource: string | null): DenyDecision {
  return {
    result: 'deny',
    kind,
    reason,
    notify: true,
    service: null,
    argument: null,
    source,
    requestedTarget: null,
    rule: null,
    warnings: [],
    requestedSource,
  };
}

/** Parse and evaluate a request; invalid requests are denied with the reason. */
export function evaluate(ruleset: RuleSet, si: SystemInfo, input: RequestInput, opts: EvaluateOptions = {}): Decision {
  const parsed = parseRequest(input, si);
  if (!parsed.ok) {
    return {
      result: 'deny',
      kind: 'bad-request',
      reason: parsed.reason,
      notify: true,
      service: parsed.service,
      argument: parsed.argument,
      source: input.source,
      requestedTarget: parsed.requestedTarget,
      rule: null,
      warnings: [],
      requestedSource: input.requestedSource || null,
    };
  }
  return evaluateRequest(ruleset, si, parsed.request, opts);
}

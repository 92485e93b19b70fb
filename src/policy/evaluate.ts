/**
 * evaluate(): request + policy + system info → Decision (SPEC §3.2–§3.4).
 * Pure and synchronous; never throws for a denial, and turns every internal
 * surprise into a deny (fail closed).
 */
import { expected } from '../errors.js';
import { effectiveRedirect, ruleWhere, type Rule } from '../parser/rule.js';
import type { Token } from '../parser/tokens.js';
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
import { EvaluationFault, lookupRef, refText, ruleMatches } from './match.js';
import { NOT_FOUND, type RuleSet } from './policy.js';
import { normaliseTarget, parseRequest, type Request, type RequestInput, type TargetValue } from './request.js';
import { TokenError } from '../parser/tokens.js';
import type { Qube, SystemInfo } from './system-info.js';
import { allowLines, unsendable } from '../render/block.js';

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

/** A `target=` token as a target value (the reference "verifies" it the same way). */
function redirectValue(tok: Token, si: SystemInfo, warnings: string[]): Resolved {
  switch (tok.kind) {
    case 'adminvm':
      return { ok: true, value: { kind: 'dom0', text: tok.text } };
    case 'dispvm':
      return { ok: true, value: { kind: 'dispvm', text: '@dispvm' } };
    case 'dispvm-template': {
      const q = lookupRef(tok.ref, si);
      if (q === undefined || !q.templateForDispvms)
        return { ok: false, kind: 'unusable-target', reason: `not a template for dispvm: ${refText(tok.ref)}` };
      return { ok: true, value: { kind: 'dispvm-template', text: tok.text, template: q } };
    }
    case 'qube': {
      const q = lookupRef(tok.ref, si);
      if (q === undefined) {
        warnings.push(`target ${JSON.stringify(tok.text)} does not exist, using @default instead`);
        return { ok: true, value: { kind: 'default', text: '@default' } };
      }
      if (q.name === 'dom0') return { ok: true, value: { kind: 'dom0', text: tok.text } };
      return { ok: true, value: { kind: 'qube', text: tok.text, qube: q } };
    }
    /* c8 ignore next 3 -- the parser admits no other kinds in target=; fail closed if that changes */
    default:
      return { ok: false, kind: 'fault', reason: `invalid redirect ${tok.text}` };
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

/** Final steps of an allow: @dispvm, dom0, autostart, loopback, what the block needs. */
function allowTo(value: TargetValue, req: Request, si: SystemInfo, base: Base, p: AllowParams): Decision {
  const { rule } = p;
  let target: string;
  let destination: Destination;
  switch (value.kind) {
    case 'default':
      return deny(
        base,
        'no-target',
        `policy define 'allow' action at ${ruleWhere(rule)} but no target is specified by caller or policy`,
      );
    case 'dispvm': {
      const name = req.source.qube?.defaultDispvm ?? null;
      if (name === null)
        return deny(
          base,
          'no-target',
          `policy define 'allow' action to @dispvm at ${ruleWhere(rule)} but no DispVM base is set for this VM`,
        );
      const tpl = si.get(name);
      if (tpl === undefined || !tpl.templateForDispvms)
        return deny(base, 'unusable-target', `default_dispvm ${name} of ${req.source.text} is not a disposable template`);
      target = '@dispvm:' + name;
      destination = { kind: 'dispvm', template: tpl };
      break;
    }
    case 'dispvm-template':
      target = value.text;
      destination = { kind: 'dispvm', template: value.template };
      break;
    case 'dom0':
      // `@adminvm` and `dom0` are reported as dom0; a uuid spelling stays as written
      target = value.text.startsWith('uuid:') ? value.text : 'dom0';
      destination = { kind: 'dom0' };
      break;
    case 'qube': {
      target = value.text;
      const q = value.qube;
      if (q.type === 'RemoteVM') {
        const relay = q.relayvm === null ? undefined : si.get(q.relayvm);
        if (relay === undefined || q.transportRpc === null)
          return deny(base, 'unusable-target', `RemoteVM ${q.name} has no usable relayvm/transport_rpc`);
        destination = { kind: 'remote', remote: q, relay, transportRpc: q.transportRpc };
      } else {
        destination = { kind: 'qube', qube: q };
      }
      break;
    }
  }

  if (p.checkAutostart && !p.autostart) {
    const running =
      destination.kind === 'dom0' ||
      ((destination.kind === 'qube' || destination.kind === 'remote') &&
        (destination.kind === 'qube' ? destination.qube : destination.remote).powerState === 'Running');
    if (!running)
      return deny(base, 'autostart', `target ${target} is denied because it would require autostart`, p.notify);
  }

  const src = req.source.qube;
  const reached = destination.kind === 'qube' ? destination.qube : destination.kind === 'remote' ? destination.remote : null;
  if (src !== null && reached === src) return deny(base, 'loopback', 'loopback qrexec connection not supported');
  if (destination.kind === 'remote' && p.user)
    base.warnings.push(`user=${p.user} of ${ruleWhere(rule)} is ignored for RemoteVM ${destination.remote.name}`);

  // the result block must name uuids: fail closed when system info lacks them
  const needUuid: Qube | null =
    destination.kind === 'qube'
      ? destination.qube
      : destination.kind === 'dispvm'
        ? destination.template
        : destination.kind === 'remote'
          ? destination.relay
          : null;
  if (needUuid !== null && needUuid.uuid === null)
    return deny(base, 'unusable-target', `system info gives no uuid for ${needUuid.name}`);

  if (req.source.qube === null)
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

/** dom0 spellings offered by ask as `dom0`; `@dispvm` via the source's default template. */
function normaliseAskTarget(tok: Token): string {
  return tok.kind === 'adminvm' ? 'dom0' : tok.text;
}

function askDecision(rule: Rule, rules: readonly Rule[], req: Request, si: SystemInfo, base: Base, opts: EvaluateOptions): Decision {
  // already sorted; filtering below keeps the order
  let targets: readonly string[];
  if (rule.redirect !== null) {
    targets = [normaliseAskTarget(rule.redirect)];
  } else if (opts.askTrace) {
    targets = codePointSort(collectAskTargets(rules, req, si, opts.askTrace));
  } else {
    targets = sortedAskTargets(rules, req, si);
  }
  if (!rule.autostart) {
    targets = targets.filter((t) => {
      if (t === 'dom0') return true;
      if (t.startsWith('@dispvm')) return false;
      const q = si.lookup(t);
      // the reference asserts the target exists here
      if (q === undefined) throw new EvaluationFault(`ask target ${t} does not exist (autostart=no)`, rule);
      return q.name === 'dom0' || q.powerState === 'Running';
    });
  }
  if (targets.length === 0)
    return deny(base, 'no-target', `policy define 'ask' action at ${ruleWhere(rule)} but no target is available to choose from`);

  let defaultTarget: string | null = null;
  if (rule.defaultTarget !== null) {
    const dt = rule.defaultTarget;
    if (dt.kind === 'dispvm') {
      const name = req.source.qube?.defaultDispvm ?? null;
      defaultTarget = name === null ? null : '@dispvm:' + name;
      if (name === null)
        base.warnings.push(`default_target @dispvm is ignored: ${req.source.text} has no default_dispvm`);
    } else {
      defaultTarget = normaliseAskTarget(dt);
    }
    if (defaultTarget !== null && !targets.includes(defaultTarget)) {
      base.warnings.push(`default_target ${dt.text} is not among the offered targets; ignored`);
      defaultTarget = null;
    }
  }

  if (req.source.qube === null)
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

/** Evaluate a parsed request against a rule set. */
export function evaluateRequest(ruleset: RuleSet, si: SystemInfo, req: Request, opts: EvaluateOptions = {}): Decision {
  const base: Base = {
    service: req.service,
    argument: req.argument,
    source: req.requestedSource ? req.requestedSource.name : req.source.text,
    requestedTarget: req.target.text,
    rule: null,
    // copied only when there is something to copy (the common request has no warnings)
    warnings: req.warnings.length ? [...req.warnings] : [],
    requestedSource: req.requestedSource?.name ?? null,
  };
  if (ruleset.error !== null) return deny(base, 'load-error', `policy failed to load: ${ruleset.error.describe()}`);
  const rules = ruleset.candidates(req.service, req.argument);
  if (!Array.isArray(rules)) {
    const err = rules as Exclude<typeof rules, readonly Rule[]>;
    return deny(base, 'load-error', `policy failed to load: ${err.describe()}`);
  }
  if (rules === NOT_FOUND) return deny(base, 'no-rule', `policy not found for ${req.service}${req.argument}`);

  let rule: Rule | null = null;
  try {
    for (const r of rules as readonly Rule[]) {
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
        if (req.source.qube === null)
          return deny(base, 'unknown-source', `source ${JSON.stringify(req.source.text)} is not a known qube`);
        const redirect = effectiveRedirect(rule);
        const resolved: Resolved =
          redirect !== null ? redirectValue(redirect, si, base.warnings) : { ok: true, value: req.target };
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
        return askDecision(rule, rules as readonly Rule[], req, si, base, opts);
    }
  } catch (err) {
    expected(err, EvaluationFault);
    const at = err.rule ?? rule;
    const inRule = at ? ` (rule ${ruleWhere(at)})` : '';
    return deny(base, 'fault', `denied to fail closed: ${err.message}${inRule}; Qubes cannot evaluate this request either`, true, at);
  }
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
      requestedSource: input.requestedSource ?? null,
    };
  }
  return evaluateRequest(ruleset, si, parsed.request, opts);
}

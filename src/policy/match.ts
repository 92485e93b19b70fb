/**
 * Matching a rule's SOURCE and TARGET tokens against a request (SPEC §3.1).
 * This is the only implementation of matching: evaluate, ask collection,
 * explain, list and lint all call these functions.
 */
import type { QubeRef, Token } from '../parser/tokens.js';
import type { Rule } from '../parser/rule.js';
import type { Request, Source, TargetValue } from './request.js';
import type { Qube, SystemInfo } from './system-info.js';

/**
 * A situation where the reference implementation crashes (for example a
 * `default_dispvm` naming a qube that does not exist). We stop evaluating
 * and deny: failing closed is the SPEC's answer to every reference crash.
 */
export class EvaluationFault extends Error {
  constructor(
    message: string,
    readonly rule: Rule | null = null,
  ) {
    super(message);
    this.name = 'EvaluationFault';
  }
}

export function refText(ref: QubeRef): string {
  return ref.by === 'name' ? ref.name : 'uuid:' + ref.uuid;
}

export function lookupRef(ref: QubeRef, si: SystemInfo): Qube | undefined {
  return ref.by === 'name' ? si.get(ref.name) : si.byUuidValue(ref.uuid);
}

/** Does a rule's service/argument columns admit the request's? */
export function matchesServiceArgument(rule: Rule, req: Request): boolean {
  return (rule.service === null || rule.service === req.service) && (rule.argument === null || rule.argument === req.argument);
}

/** Does a SOURCE-column token match the calling qube? */
export function matchesSource(tok: Token, src: Source): boolean {
  switch (tok.kind) {
    case 'any':
      return true;
    case 'anyvm':
      return !src.isDom0;
    case 'adminvm':
      return src.isDom0;
    case 'qube':
      if (tok.ref.by === 'name') return src.qube ? src.qube.name === tok.ref.name : src.text === tok.ref.name;
      // the reference looks the caller up to compare uuids, and crashes on an unknown caller
      if (src.qube === null) throw new EvaluationFault(`cannot compare unknown source ${src.text} with ${tok.text}`);
      return src.qube.uuid === tok.ref.uuid;
    case 'tag':
      return src.qube !== null && src.qube.tags.includes(tok.tag);
    case 'type':
      return src.qube !== null && src.qube.type === tok.type;
    // a running disposable calls under its own name: these never match a caller
    case 'dispvm-template':
    case 'dispvm-tag':
    case 'default':
    case 'dispvm':
      return false;
  }
}

/**
 * The template a request for `@dispvm` from this source means, or null when
 * the source has no `default_dispvm`. A `default_dispvm` naming a qube that
 * does not exist is a fault (the reference crashes looking it up).
 */
export function defaultDispvmTemplate(src: Source, si: SystemInfo): Qube | null {
  const name = src.qube?.defaultDispvm ?? null;
  if (name === null) return null;
  const q = si.get(name);
  if (q === undefined) throw new EvaluationFault(`default_dispvm ${name} of ${src.text} does not exist`);
  return q;
}

/** The qube a target value stands for (dom0 included), if it is one. */
function targetQube(v: TargetValue, si: SystemInfo): Qube | undefined {
  if (v.kind === 'qube') return v.qube;
  if (v.kind === 'dom0') return si.dom0;
  return undefined;
}

/** Does a TARGET-column token match the requested target? */
export function matchesTarget(tok: Token, v: TargetValue, src: Source, si: SystemInfo): boolean {
  switch (tok.kind) {
    case 'any':
      return true;
    case 'anyvm':
      return v.kind !== 'dom0';
    case 'adminvm':
      return v.kind === 'dom0';
    case 'default':
      return v.kind === 'default';
    case 'dispvm':
      return v.kind === 'dispvm';
    case 'qube': {
      if (v.kind !== 'qube') return false;
      return tok.ref.by === 'name' ? v.qube.name === tok.ref.name : v.qube.uuid === tok.ref.uuid;
    }
    case 'tag': {
      const q = targetQube(v, si);
      return q !== undefined && q.tags.includes(tok.tag);
    }
    case 'type': {
      const q = targetQube(v, si);
      return q !== undefined && q.type === tok.type;
    }
    case 'dispvm-template': {
      if (v.kind === 'dispvm-template') return lookupRef(tok.ref, si) === v.template;
      if (v.kind !== 'dispvm') return false;
      // the reference compares against the source's default template and crashes without one
      if (src.qube?.defaultDispvm == null)
        throw new EvaluationFault(`${src.text} has no default_dispvm to compare with ${tok.text}`);
      const tpl = defaultDispvmTemplate(src, si);
      // compared as written: `@dispvm:uuid:U` does not stand for the default template (as in Qubes)
      return tpl !== null && tok.ref.by === 'name' && tok.ref.name === tpl.name;
    }
    case 'dispvm-tag': {
      let tpl: Qube | null;
      if (v.kind === 'dispvm-template') tpl = v.template;
      else if (v.kind === 'dispvm') tpl = defaultDispvmTemplate(src, si);
      else return false;
      return tpl !== null && tpl.templateForDispvms && tpl.tags.includes(tok.tag);
    }
  }
}

/** The complete first-match test of SPEC §3.2. */
export function ruleMatches(rule: Rule, req: Request, si: SystemInfo): boolean {
  return (
    matchesServiceArgument(rule, req) &&
    matchesSource(rule.source, req.source) &&
    matchesTarget(rule.target, req.target, req.source, si)
  );
}

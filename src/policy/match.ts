/**
 * Matching a rule's SOURCE and TARGET tokens against a request (SPEC §3.1).
 * This is the only implementation of matching: evaluate, ask collection,
 * explain, list and lint all call these functions.
 *
 * Values are compared the way Qubes compares them: as text, except that a
 * `uuid:U` form and a name match when that qube has uuid U, dom0's three
 * spellings match one another, and `@tag:`/`@type:` apply only to values
 * that are keys of the system info (a name or a `uuid:` form: not
 * `@adminvm`, not `@default` or the `@dispvm` forms).
 */
import { isDom0Text, type Token } from '../parser/tokens.js';
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

/**
 * Whether a rule's qube value (a name or `uuid:U`) and a request's value
 * stand for the same qube: equal text, or a `uuid:` form against a name
 * whose qube has that uuid.
 */
export function sameQube(ruleText: string, value: string, si: SystemInfo): boolean {
  if (ruleText.startsWith('uuid:') !== value.startsWith('uuid:')) {
    const [uuidForm, name] = ruleText.startsWith('uuid:') ? [ruleText, value] : [value, ruleText];
    const q = si.lookup(name);
    return q !== undefined && q.uuid === uuidForm.slice(5);
  }
  return ruleText === value;
}

/** Does a rule's service/argument columns admit the request's? */
export function matchesServiceArgument(rule: Rule, req: Request): boolean {
  return (rule.service === null || rule.service === req.service) && (rule.argument === null || rule.argument === req.argument);
}

/** Does a SOURCE-column token match the calling qube? */
export function matchesSource(tok: Token, src: Source, si: SystemInfo): boolean {
  switch (tok.kind) {
    case 'any':
      return true;
    case 'anyvm':
      return !src.isDom0;
    case 'adminvm':
      return src.isDom0;
    case 'qube':
      return sameQube(tok.text, src.text, si);
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
 * The `default_dispvm` of the caller, by name, or null when it has none or
 * is not a qube the system info lists (Qubes then has no template).
 */
export function defaultDispvmName(src: Source): string | null {
  return src.qube?.defaultDispvm ?? null;
}

/** Does a TARGET-column token match the requested target? */
export function matchesTarget(tok: Token, v: TargetValue, src: Source, si: SystemInfo): boolean {
  switch (tok.kind) {
    case 'any':
      return true;
    case 'anyvm':
      return !isDom0Text(v.text);
    case 'adminvm':
      return isDom0Text(v.text);
    case 'default':
      return v.kind === 'default';
    case 'dispvm':
      return v.kind === 'dispvm';
    case 'qube':
      return sameQube(tok.text, v.text, si);
    case 'tag': {
      const q = si.lookup(v.text);
      return q !== undefined && q.tags.includes(tok.tag);
    }
    case 'type': {
      const q = si.lookup(v.text);
      return q !== undefined && q.type === tok.type;
    }
    case 'dispvm-template': {
      const name = tok.text.slice('@dispvm:'.length);
      if (v.kind === 'dispvm-template') return sameQube(name, v.text.slice('@dispvm:'.length), si);
      if (v.kind !== 'dispvm') return false;
      const dflt = defaultDispvmName(src);
      // the reference compares with the caller's default template and crashes without one
      if (dflt === null) throw new EvaluationFault(`${src.text} has no default_dispvm to compare with ${tok.text}`);
      // compared as text: `@dispvm:uuid:U` does not stand for the default template (as in Qubes)
      return name === dflt;
    }
    case 'dispvm-tag': {
      let tpl: Qube | undefined;
      if (v.kind === 'dispvm-template') tpl = v.template;
      else if (v.kind === 'dispvm') {
        const dflt = defaultDispvmName(src);
        if (dflt === null) return false;
        tpl = si.lookup(dflt);
        // the reference looks the default template up unguarded
        if (tpl === undefined) throw new EvaluationFault(`default_dispvm ${dflt} of ${src.text} does not exist`);
      } else return false;
      return tpl.templateForDispvms && tpl.tags.includes(tok.tag);
    }
  }
}

/** The complete first-match test of SPEC §3.2. */
export function ruleMatches(rule: Rule, req: Request, si: SystemInfo): boolean {
  return (
    matchesServiceArgument(rule, req) &&
    matchesSource(rule.source, req.source, si) &&
    matchesTarget(rule.target, req.target, req.source, si)
  );
}

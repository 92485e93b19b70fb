/**
 * `ask default_target=` that can never be among the offered targets (SPEC
 * §3.2), on any system: the rule offers only its `target=`, offers no
 * disposables (autostart=no), the default is the caller itself, a `uuid:`
 * spelling (choices are offered by name), or no allow/ask rule that can see
 * the caller could ever add it to the choices.
 */
import type { Rule } from '../parser/rule.js';
import type { Token } from '../parser/tokens.js';
import { mayOverlapButTarget, tokenKey } from './cover.js';

/** Could expanding `tok` for ask choices yield the offered value the default `dt` stands for? */
function canYield(tok: Token, dt: Token): boolean {
  switch (dt.kind) {
    case 'adminvm':
      return tok.kind === 'adminvm' || tok.kind === 'any' || tok.kind === 'tag' || (tok.kind === 'type' && tok.type === 'AdminVM');
    case 'dispvm':
      // (a rule's @dispvm:uuid:U is offered by its template's name, which may be the default one)
      return ['any', 'anyvm', 'dispvm', 'dispvm-tag', 'dispvm-template'].includes(tok.kind);
    case 'dispvm-template':
      if (tok.kind === 'dispvm-template') return tok.text === dt.text || tok.ref.by === 'uuid';
      return ['any', 'anyvm', 'dispvm', 'dispvm-tag'].includes(tok.kind);
    default:
      // a qube (default_target= admits no other kinds)
      return ['any', 'anyvm', 'tag', 'type'].includes(tok.kind) || (tok.kind === 'qube' && (tok.ref.by === 'uuid' || tokenKey(tok) === dt.text));
  }
}

/** Why `rule`'s default_target can never be offered, or null. `complete`: `rules` is the whole policy. */
export function defaultNeverOffered(rule: Rule, rules: readonly Rule[], complete: boolean): string | null {
  const dt = rule.defaultTarget;
  if (rule.action !== 'ask' || dt === null) return null;
  const isDispvm = dt.kind === 'dispvm' || dt.kind === 'dispvm-template';
  if (!rule.autostart && isDispvm) return 'autostart=no offers no disposables';
  if (rule.redirect !== null) {
    const offered = rule.redirect.kind === 'adminvm' ? 'dom0' : rule.redirect.text;
    const same =
      dt.kind === 'dispvm'
        ? rule.redirect.kind === 'dispvm-template' && rule.redirect.ref.by === 'name'
        : (dt.kind === 'adminvm' ? 'dom0' : dt.text) === offered;
    return same ? null : `the rule offers only its target=${rule.redirect.text}`;
  }
  if ((dt.kind === 'qube' || dt.kind === 'dispvm-template') && dt.ref.by === 'uuid') return 'choices are offered by name, never as uuid:';
  if (tokenKey(dt) === tokenKey(rule.source)) return 'that is the calling qube itself, which is never offered';
  if (!complete) return null;
  const adds = rules.some(
    (r) => r.action !== 'deny' && mayOverlapButTarget(r, rule) && canYield(r.redirect ?? r.target, dt),
  );
  return adds ? null : `no allow or ask rule for these calls could add ${dt.text} to the choices`;
}

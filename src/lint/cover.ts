/**
 * Set relations between rule columns, for every possible system at once:
 * "covers" (every request one matches, the other matches too) is an
 * under-approximation, "may overlap" an over-approximation, so findings
 * built on them are sound. They follow the matching functions of
 * policy/match.ts token by token (this module never matches a request).
 *
 * One Qubes invariant is assumed: the qube named dom0 is the only qube of
 * type AdminVM and its uuid is the zero uuid.
 */
import { paramValueList } from '../parser/params.js';
import type { Rule } from '../parser/rule.js';
import type { Token } from '../parser/tokens.js';

const ANYVM: Token = { kind: 'anyvm', text: '@anyvm' };
const ADMINVM: Token = { kind: 'adminvm', text: '@adminvm' };

/** `*` is exactly `@anyvm` plus dom0, in both columns; other tokens stand alone. */
export function atoms(tok: Token): Token[] {
  return tok.kind === 'any' ? [ANYVM, ADMINVM] : [tok];
}

/** A canonical spelling: the three dom0 spellings are one token. */
export function tokenKey(tok: Token): string {
  return tok.kind === 'adminvm' ? '@adminvm' : tok.text;
}

function same(a: Token, b: Token): boolean {
  return tokenKey(a) === tokenKey(b);
}

/** SOURCE tokens that never match a caller (a disposable calls under its own name). */
export function neverMatchesSource(tok: Token): boolean {
  return tok.kind === 'dispvm-template' || tok.kind === 'dispvm-tag';
}

/** Does SOURCE token `e` match every caller `r` matches? */
export function sourceCovers(e: Token, r: Token): boolean {
  if (e.kind === 'any' || neverMatchesSource(r) || same(e, r)) return true;
  if (e.kind === 'anyvm') return r.kind === 'qube' || (r.kind === 'type' && r.type !== 'AdminVM');
  return e.kind === 'adminvm' && r.kind === 'type' && r.type === 'AdminVM';
}

/** Does TARGET token `e` match every requested target `r` matches? */
export function targetCovers(e: Token, r: Token): boolean {
  if (e.kind === 'any' || same(e, r)) return true;
  switch (e.kind) {
    case 'anyvm':
      return r.kind !== 'adminvm' && r.kind !== 'any' && r.kind !== 'tag' && (r.kind !== 'type' || r.type !== 'AdminVM');
    case 'adminvm':
      return r.kind === 'type' && r.type === 'AdminVM';
    default:
      return false;
  }
}

/** SERVICE and ARGUMENT columns of `e` admit everything `r`'s do. */
export function serviceArgumentCovers(e: Rule, r: Rule): boolean {
  return (e.service === null || e.service === r.service) && (e.argument === null || e.argument === r.argument);
}

/** Does `e` match every request `r` matches whose source and target fall in the given atoms? */
export function ruleCoversAtom(e: Rule, r: Rule, src: Token, tgt: Token): boolean {
  return serviceArgumentCovers(e, r) && sourceCovers(e.source, src) && targetCovers(e.target, tgt);
}

/** Does `e` match every request `r` matches? */
export function ruleCovers(e: Rule, r: Rule): boolean {
  return atoms(r.source).every((s) => atoms(r.target).every((t) => ruleCoversAtom(e, r, s, t)));
}

/** Could some caller match both SOURCE tokens? (uuid tokens overlap everything: they fault on unknown callers.) */
export function sourcesMayOverlap(a: Token, b: Token): boolean {
  if (neverMatchesSource(a) || neverMatchesSource(b)) return false;
  if (a.kind === 'any' || b.kind === 'any' || isUuid(a) || isUuid(b)) return true;
  const [x, y] = a.kind <= b.kind ? [a, b] : [b, a];
  switch (`${x.kind}/${y.kind}`) {
    case 'adminvm/adminvm':
    case 'anyvm/anyvm':
    case 'anyvm/qube':
    case 'anyvm/tag':
    case 'adminvm/tag':
    case 'qube/tag':
    case 'tag/tag':
    case 'tag/type':
      return true;
    case 'adminvm/type':
      return (y as Extract<Token, { kind: 'type' }>).type === 'AdminVM';
    case 'anyvm/type':
      return (y as Extract<Token, { kind: 'type' }>).type !== 'AdminVM';
    case 'qube/type':
      return true;
    case 'qube/qube':
    case 'type/type':
      return same(x, y);
    default:
      // adminvm/anyvm, adminvm/qube: dom0 is never an ordinary qube
      return false;
  }
}

function isUuid(tok: Token): boolean {
  return tok.kind === 'qube' && tok.ref.by === 'uuid';
}

/** Could one request reach both rules' SERVICE, ARGUMENT and SOURCE columns? */
export function mayOverlapButTarget(a: Rule, b: Rule): boolean {
  return (
    (a.service === null || b.service === null || a.service === b.service) &&
    (a.argument === null || b.argument === null || a.argument === b.argument) &&
    sourcesMayOverlap(a.source, b.source)
  );
}

/**
 * Does expanding `e` for ask choices (SPEC §3.2) yield, on every system,
 * everything expanding `r` yields? Holds for the same token, for `*` over
 * anything but dom0 spellings and `@dispvm:uuid:` forms, and for `@anyvm`
 * over tokens that cannot stand for dom0.
 */
export function expansionCovers(e: Token, r: Token): boolean {
  if (same(e, r)) return true;
  const uuidDispvm = r.kind === 'dispvm-template' && r.ref.by === 'uuid';
  if (e.kind === 'any') return r.kind !== 'adminvm' && !uuidDispvm;
  if (e.kind === 'anyvm') return targetCovers(e, r) && !uuidDispvm;
  return false;
}

/** The same action with the same parameters (order and dom0 spelling aside). */
export function sameEffect(a: Rule, b: Rule): boolean {
  if (a.action !== b.action) return false;
  const pa = paramValueList(a, tokenKey);
  const pb = paramValueList(b, tokenKey);
  return pa.every((v, i) => v === pb[i]);
}

/** Identical rules: same columns and the same effect. */
export function sameRule(a: Rule, b: Rule): boolean {
  return (
    a.service === b.service &&
    a.argument === b.argument &&
    same(a.source, b.source) &&
    same(a.target, b.target) &&
    sameEffect(a, b)
  );
}

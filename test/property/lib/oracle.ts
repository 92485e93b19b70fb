/**
 * An independent reading of SPEC §3.1 (which rule token matches which
 * request value), written from the specification over the raw system-info
 * JSON, sharing no code with src/policy. Property (g) uses it to check that
 * every allow comes from some allow (or ask) rule that could reach that
 * target: with the matcher under test alone, a matching bug would agree
 * with itself.
 */
import type { Decision } from '../../../src/policy/decision.js';
import type { RuleSpec } from '../gen/policy.js';
import { ZERO_UUID, type DomainJson } from '../gen/system.js';
import type { Req } from '../gen/request.js';

type Domains = Record<string, DomainJson>;

export function isDom0Spelling(text: string): boolean {
  return text === '@adminvm' || text === 'dom0' || text === `uuid:${ZERO_UUID}`;
}

/** The name a plain name or `uuid:U` refers to, if that qube exists. */
function lookup(d: Domains, text: string): string | null {
  if (text.startsWith('uuid:')) {
    const u = text.slice(5);
    const hit = Object.keys(d).find((n) => d[n]!['uuid'] === u);
    return hit ?? null;
  }
  return Object.hasOwn(d, text) ? text : null;
}

const tagsOf = (d: Domains, n: string) => (d[n]!['tags'] as string[] | undefined) ?? [];
const isTemplate = (d: Domains, n: string | null) => n !== null && Object.hasOwn(d, n) && d[n]!['template_for_dispvms'] === true;

export type Value =
  | { kind: 'dom0' }
  | { kind: 'qube'; name: string }
  | { kind: 'default' }
  | { kind: 'dispvm' }
  | { kind: 'dispvm-template'; name: string }
  | { kind: 'invalid' };

/** A requested target as the policy sees it. */
export function requestValue(d: Domains, text: string): Value {
  if (text === '' || text === '@default') return { kind: 'default' };
  if (text === '@dispvm') return { kind: 'dispvm' };
  if (text === '@adminvm' || text === `uuid:${ZERO_UUID}`) return { kind: 'dom0' };
  if (text.startsWith('@dispvm:')) {
    const n = lookup(d, text.slice(8));
    return isTemplate(d, n) ? { kind: 'dispvm-template', name: n! } : { kind: 'invalid' };
  }
  if (text.startsWith('@') || text === '*') return { kind: 'invalid' };
  const n = lookup(d, text);
  if (n === null) return { kind: 'default' };
  return n === 'dom0' ? { kind: 'dom0' } : { kind: 'qube', name: n };
}

export interface Src {
  text: string;
  name: string | null;
  isDom0: boolean;
}

export function requestSource(d: Domains, text: string): Src {
  if (text === '@adminvm' || text === `uuid:${ZERO_UUID}`) return { text, name: Object.hasOwn(d, 'dom0') ? 'dom0' : null, isDom0: true };
  const name = lookup(d, text);
  return { text, name, isDom0: name === 'dom0' };
}

function qubeHas(d: Domains, name: string, tok: string): boolean {
  if (tok.startsWith('@tag:')) return tagsOf(d, name).includes(tok.slice(5));
  return d[name]!['type'] === tok.slice(6);
}

export function sourceMatches(d: Domains, tok: string, src: Src): boolean {
  if (tok === '*') return true;
  if (tok === '@anyvm') return !src.isDom0;
  if (isDom0Spelling(tok)) return src.isDom0;
  if (tok.startsWith('@tag:') || tok.startsWith('@type:')) return src.name !== null && qubeHas(d, src.name, tok);
  if (tok.startsWith('@')) return false; // @dispvm:… never calls
  if (tok.startsWith('uuid:')) return src.name !== null && d[src.name]!['uuid'] === tok.slice(5);
  return src.name !== null ? src.name === tok : src.text === tok;
}

function defaultDispvm(d: Domains, src: Src): string | null {
  return src.name === null ? null : ((d[src.name]!['default_dispvm'] as string | null | undefined) ?? null);
}

export function targetMatches(d: Domains, tok: string, v: Value, src: Src): boolean {
  if (tok === '*') return true;
  if (tok === '@anyvm') return v.kind !== 'dom0';
  if (isDom0Spelling(tok)) return v.kind === 'dom0';
  if (tok === '@default') return v.kind === 'default';
  if (tok === '@dispvm') return v.kind === 'dispvm';
  if (tok.startsWith('@dispvm:@tag:')) {
    const tpl = v.kind === 'dispvm-template' ? v.name : v.kind === 'dispvm' ? defaultDispvm(d, src) : null;
    return isTemplate(d, tpl) && tagsOf(d, tpl!).includes(tok.slice(13));
  }
  if (tok.startsWith('@dispvm:')) {
    if (v.kind === 'dispvm-template') return lookup(d, tok.slice(8)) === v.name;
    return v.kind === 'dispvm' && defaultDispvm(d, src) === tok.slice(8);
  }
  const q = v.kind === 'qube' ? v.name : v.kind === 'dom0' && Object.hasOwn(d, 'dom0') ? 'dom0' : null;
  if (tok.startsWith('@tag:') || tok.startsWith('@type:')) return q !== null && qubeHas(d, q, tok);
  if (v.kind !== 'qube') return false;
  return tok.startsWith('uuid:') ? d[v.name]!['uuid'] === tok.slice(5) : v.name === tok;
}

/** Where a value sends the call: `dom0`, `qube:NAME`, `dispvm:TEMPLATE`, or null (nowhere). */
function identity(d: Domains, v: Value, src: Src): string | null {
  switch (v.kind) {
    case 'dom0':
      return 'dom0';
    case 'qube':
      return `qube:${v.name}`;
    case 'dispvm-template':
      return `dispvm:${v.name}`;
    case 'dispvm': {
      const dd = defaultDispvm(d, src);
      return dd === null ? null : `dispvm:${dd}`;
    }
    default:
      return null;
  }
}

/** A `target=` value as a destination. */
function redirectIdentity(d: Domains, tok: string, src: Src): string | null {
  if (isDom0Spelling(tok)) return 'dom0';
  if (tok === '@dispvm') return identity(d, { kind: 'dispvm' }, src);
  if (tok.startsWith('@dispvm:')) {
    const n = lookup(d, tok.slice(8));
    return n === null ? null : `dispvm:${n}`;
  }
  const n = lookup(d, tok);
  return n === null ? null : n === 'dom0' ? 'dom0' : `qube:${n}`;
}

/** Where an allow decision sends the call, in the same terms. */
export function decisionIdentity(dec: Decision): string | null {
  if (dec.result !== 'allow') return null;
  const dst = dec.destination;
  switch (dst.kind) {
    case 'dom0':
      return 'dom0';
    case 'qube':
      return `qube:${dst.qube.name}`;
    case 'remote':
      return `qube:${dst.remote.name}`;
    case 'dispvm':
      return `dispvm:${dst.template.name}`;
  }
}

function serviceMatches(r: RuleSpec, serviceArg: string): boolean {
  const plus = serviceArg.indexOf('+');
  const svc = plus < 0 ? serviceArg : serviceArg.slice(0, plus);
  const arg = plus < 0 ? '+' : serviceArg.slice(plus);
  return (r.service === '*' || r.service === svc) && (r.argument === '*' || r.argument === arg);
}

/**
 * (g) The allow rules (and ask rules, which --assume-yes-for-ask turns into
 * allows) for this request that could have sent the call where `dec` sends
 * it. Empty means an allow from nowhere.
 */
export function allowWitnesses(d: Domains, rules: readonly RuleSpec[], req: Req, dec: Decision): RuleSpec[] {
  const dest = decisionIdentity(dec);
  if (dest === null) return [];
  const src = requestSource(d, req.requestedSource ?? req.source);
  const v = requestValue(d, req.target);
  return rules.filter((r) => {
    if (r.action === 'deny' || !serviceMatches(r, req.service) || !sourceMatches(d, r.source, src)) return false;
    const redirect = r.params.find((p) => p.startsWith('target='))?.slice(7) ?? '';
    if (redirect !== '') return redirectIdentity(d, redirect, src) === dest;
    return targetMatches(d, r.target, v, src) && identity(d, v, src) === dest;
  });
}

/**
 * (g) for ask: the allow or ask rules for this request whose target (or
 * target=) could have put `offered` into the ask's choices.
 */
export function offerWitnesses(d: Domains, rules: readonly RuleSpec[], req: Req, offered: string): RuleSpec[] {
  const src = requestSource(d, req.requestedSource ?? req.source);
  let v: Value;
  if (offered === 'dom0') v = { kind: 'dom0' };
  else if (offered.startsWith('@dispvm:')) {
    const n = lookup(d, offered.slice(8));
    v = n === null ? { kind: 'invalid' } : { kind: 'dispvm-template', name: n };
  } else {
    const n = lookup(d, offered);
    v = n === null ? { kind: 'invalid' } : { kind: 'qube', name: n };
  }
  const dest = v.kind === 'dom0' ? 'dom0' : identity(d, v, src);
  if (dest === null) return [];
  return rules.filter((r) => {
    if (r.action === 'deny' || !serviceMatches(r, req.service) || !sourceMatches(d, r.source, src)) return false;
    const redirect = r.params.find((p) => p.startsWith('target='))?.slice(7) ?? '';
    if (redirect !== '') return redirectIdentity(d, redirect, src) === dest;
    // `@dispvm` is offered as the caller's default disposable template
    if (r.target === '@dispvm') return identity(d, { kind: 'dispvm' }, src) === dest;
    return targetMatches(d, r.target, v, src);
  });
}

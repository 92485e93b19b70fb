/**
 * The requests a graph evaluates (SPEC §9, as qrexec-policy-graph does):
 * every source qube × every target (each qube, `@dispvm`, `@dispvm:X` for
 * each disposable template, `@default`) × every service/argument pair that
 * some rule names, narrowed by `--source`, `--target` and `--service`.
 */
import { byteCompare } from '../parser/text.js';
import type { Rule } from '../parser/rule.js';
import type { SystemInfo } from '../policy/system-info.js';

/** One service/argument pair to evaluate; `service` null is the `*` pseudo-service. */
export interface ServicePair {
  service: string | null;
  /** `null`: the rule admits any argument; the request is then made without one. */
  argument: string | null;
}

/** Every target a graph tries, in the reference's order. */
export function graphTargets(si: SystemInfo): string[] {
  const qubes = [...si.qubes.values()];
  return [
    ...qubes.map((q) => q.name),
    '@dispvm',
    ...qubes.filter((q) => q.templateForDispvms).map((q) => '@dispvm:' + q.name),
    '@default',
  ];
}

/** A `--service` value: `SVC`, `SVC+ARG` or `*`. */
export function parseServiceFilter(value: string): ServicePair {
  if (value === '*') return { service: null, argument: null };
  const plus = value.indexOf('+');
  return plus < 0 ? { service: value, argument: null } : { service: value.slice(0, plus), argument: value.slice(plus) };
}

/** Does a `--service` list keep this pair? A bare service keeps all of its arguments. */
function kept(pair: ServicePair, filters: readonly string[]): boolean {
  if (pair.service === null) return filters.includes('*');
  return filters.includes(pair.service) || filters.includes(pair.service + (pair.argument ?? ''));
}

/**
 * The service/argument pairs of `rules` plus those `--service` names, kept by
 * the filter, sorted (service, then argument; `*` first), one per distinct request.
 */
export function servicePairs(rules: readonly Pick<Rule, 'service' | 'argument'>[], filters: readonly string[] | null): ServicePair[] {
  const all = new Map<string, ServicePair>();
  const add = (p: ServicePair) => {
    const key = `${p.service ?? '*'}\0${p.argument ?? ''}`;
    if (!all.has(key)) all.set(key, p);
  };
  for (const r of rules) add({ service: r.service, argument: r.argument });
  for (const f of filters ?? []) add(parseServiceFilter(f));
  const pairs = [...all.values()].filter((p) => filters === null || kept(p, filters));
  pairs.sort((a, b) => byteCompare(a.service ?? '', b.service ?? '') || byteCompare(a.argument ?? '', b.argument ?? ''));
  // `svc *` and `svc +` both ask for the service without an argument: evaluate it once
  const seen = new Set<string>();
  return pairs.filter((p) => {
    const key = `${p.service ?? '*'}\0${p.argument ?? '+'}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

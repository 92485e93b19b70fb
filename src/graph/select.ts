/**
 * `--source`, `--target` and `--service` of a graph: each may be given
 * several times, with several values, or as a comma-separated list. Bad
 * values are usage errors that name the value.
 */
import { expected, UsageError } from '../errors.js';
import { parseToken, TokenError, type Token } from '../parser/tokens.js';
import { matchesSource } from '../policy/match.js';
import { checkServiceArg, resolveSource, splitServiceArg } from '../policy/request.js';
import type { SystemInfo } from '../policy/system-info.js';

/** The values of a repeatable option, commas splitting too; `null` when it was not given. */
export function optionValues(option: string, values: readonly string[] | string | undefined): string[] | null {
  if (values === undefined) return null;
  const list = (Array.isArray(values) ? values : [values]).flatMap((v) => String(v).split(',')).filter((v) => v !== '');
  if (list.length === 0) throw new UsageError(`--${option} needs a value`);
  return list;
}

/**
 * The calling qubes `--source` selects, in system-info order: qube names, or
 * any token of a rule's SOURCE column (`@anyvm`, `@tag:T`, `@type:T`, ...).
 */
export function selectSources(values: readonly string[] | null, si: SystemInfo): string[] {
  const names = [...si.qubes.keys()];
  if (values === null) return names;
  const chosen = new Set<string>();
  for (const v of values) {
    let tok: Token;
    try {
      tok = parseToken(v, 'source');
    } catch (err) {
      expected(err, TokenError);
      throw new UsageError(`--source ${v} is not a valid call source`);
    }
    const hits = names.filter((n) => matchesSource(tok, resolveSource(n, si), si));
    if (hits.length === 0) throw new UsageError(`--source ${v} matches no qube in the system info`);
    for (const h of hits) chosen.add(h);
  }
  return names.filter((n) => chosen.has(n));
}

/** `--target`: the targets edges may end at, as drawn (a qube, `dom0`, `@adminvm`, `@dispvm[:X]`, `@default`). */
export function selectTargets(values: readonly string[] | null): ReadonlySet<string> | null {
  if (values === null) return null;
  for (const v of values) {
    try {
      parseToken(v, 'request');
    } catch (err) {
      expected(err, TokenError);
      throw new UsageError(`--target ${v} is not a valid call target`);
    }
  }
  return new Set(values);
}

/** `--service`: `SVC`, `SVC+ARG`, or `*` for the services no rule names. */
export function selectServices(values: readonly string[] | null): string[] | null {
  if (values === null) return null;
  for (const v of values) {
    if (v === '*') continue;
    const { service, argument } = splitServiceArg(v);
    if (checkServiceArg(service, argument) !== null) throw new UsageError(`--service ${v} is not a valid service`);
  }
  return values.slice();
}

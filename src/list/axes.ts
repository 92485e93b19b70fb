/**
 * What `list` enumerates (issue 9): the concrete sources, targets and
 * SERVICE[+ARG] entries a policy mentions, over the qubes of a system.
 * Enumeration only: deciding each combination is evaluate()'s job.
 */
import type { Rule } from '../parser/rule.js';
import type { LegacyEntry } from '../parser/loader.js';
import { byteCompare } from '../parser/text.js';
import type { SystemInfo } from '../policy/system-info.js';

/** One SERVICE[+ARG] row group. */
export interface ServiceEntry {
  /** `null`: any service no rule names ("any other service"). */
  readonly service: string | null;
  /** A `+ARG` the policy names for this service; `null`: every argument it does not name. */
  readonly argument: string | null;
  /** What `--service` globs match: `SERVICE`, `SERVICE+ARG`, or `*` for any other service. */
  readonly name: string;
  /** The heading text output shows. */
  readonly label: string;
  /** The `SERVICE[+ARG]` evaluated for this entry: a concrete request `eval` accepts. */
  readonly request: string;
}

/** Each service the policy names, with the specific arguments named for it. */
export type Mentions = ReadonlyMap<string, ReadonlySet<string>>;

/** Services and arguments the rules name (`*` columns name none). */
export function ruleMentions(rules: readonly Rule[]): Mentions {
  const out = new Map<string, Set<string>>();
  for (const r of rules) {
    if (r.service === null) continue;
    let args = out.get(r.service);
    if (args === undefined) out.set(r.service, (args = new Set()));
    if (r.argument !== null) args.add(r.argument);
  }
  return out;
}

/** Services and arguments of the R4.0 files `--legacy` reads (`SVC+ARG`, `SVC`). */
export function legacyMentions(entries: readonly LegacyEntry[]): Mentions {
  const out = new Map<string, Set<string>>();
  for (const e of entries) {
    let args = out.get(e.service);
    if (args === undefined) out.set(e.service, (args = new Set()));
    if (e.argument !== null) args.add(e.argument);
  }
  return out;
}

/** `base`, or `base1`, `base2`, ... : the first one not in `taken`. */
function unused(taken: { has(s: string): boolean }, base: string): string {
  let s = base;
  for (let i = 1; taken.has(s); i++) s = base + i;
  return s;
}

/** The placeholder service evaluated for "any other service" (no rule names it). */
export const ANY_OTHER_SERVICE = 'list.AnyOtherService';

/**
 * Entries in byte order of service: each named argument, then "any other
 * argument" (just the service when it has no named argument), and last the
 * services no rule names.
 */
export function serviceEntries(mentions: Mentions): ServiceEntry[] {
  const out: ServiceEntry[] = [];
  for (const service of [...mentions.keys()].sort(byteCompare)) {
    const args = mentions.get(service)!;
    for (const argument of [...args].sort(byteCompare))
      out.push({ service, argument, name: service + argument, label: service + argument, request: service + argument });
    // `SERVICE` alone has the empty argument `+`; if a rule names that one, stand in with another
    const other = args.has('+') ? unused(args, '+other') : '';
    const label = args.size ? `${service} (any other argument)` : service;
    out.push({ service, argument: null, name: service, label, request: service + other });
  }
  const request = unused(mentions, ANY_OTHER_SERVICE);
  out.push({ service: null, argument: null, name: '*', label: '* (any other service)', request });
  return out;
}

/** Every qube as a caller, in byte order. */
export function sourcesOf(si: SystemInfo): string[] {
  return [...si.qubes.keys()].sort(byteCompare);
}

/**
 * Every target a caller can name: each qube (dom0 included), `@default`,
 * `@dispvm`, `@dispvm:X` for each disposable template; `@adminvm` stands for
 * dom0 when the system info does not list it. Byte order.
 */
export function targetsOf(si: SystemInfo): string[] {
  const out = ['@default', '@dispvm'];
  for (const q of si.qubes.values()) {
    out.push(q.name);
    if (q.templateForDispvms) out.push('@dispvm:' + q.name);
  }
  if (si.dom0 === undefined) out.push('@adminvm');
  return out.sort(byteCompare);
}

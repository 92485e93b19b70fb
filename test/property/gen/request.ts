/**
 * Random requests over the names of gen/system.ts: every kind of requested
 * target (names, `uuid:` forms, dom0 spellings, `@default`, `@dispvm`,
 * `@dispvm:X`, unknown qubes), services with and without arguments,
 * relayed sources (`requested_source`) and `--assume-yes-for-ask`; and the
 * malformed variants with the words their denial must name.
 */
import fc from 'fast-check';
import { NAMES, uuidFor, ZERO_UUID } from './system.js';
import { ARGUMENTS, SERVICES, type RuleSpec } from './policy.js';
import { MAX_REQUEST_FIELD } from '../../../src/parser/limits.js';

export interface Req {
  source: string;
  target: string;
  /** `SERVICE[+ARG]` as qrexec passes it. */
  service: string;
  requestedSource: string | null;
  assumeYes: boolean;
}

const weighted = <T>(...pairs: [number, fc.Arbitrary<T>][]): fc.Arbitrary<T> =>
  fc.oneof(...pairs.map(([weight, arbitrary]) => ({ weight, arbitrary })));

const U = (n: string) => `uuid:${uuidFor(n)}`;

export const arbSource = weighted(
  [12, fc.constantFrom(...NAMES)],
  [2, fc.constantFrom('dom0', '@adminvm', `uuid:${ZERO_UUID}`)],
  [1, fc.constantFrom(U('work'), U('untrusted'), 'nobody')],
);

export const arbTarget = weighted(
  [10, fc.constantFrom(...NAMES)],
  [3, fc.constantFrom('', '@default')],
  [2, fc.constantFrom('@dispvm', '@dispvm:dvm-a', '@dispvm:dvm-b')],
  [2, fc.constantFrom('dom0', '@adminvm', `uuid:${ZERO_UUID}`)],
  [2, fc.constantFrom(U('personal'), U('vault'), `@dispvm:${U('dvm-a')}`, 'nobody')],
);

export const arbServiceArg = fc
  .tuple(fc.constantFrom(...SERVICES), weighted([2, fc.constant('')], [3, fc.constantFrom(...ARGUMENTS)]))
  .map(([s, a]) => s + a);

export const arbRequest: fc.Arbitrary<Req> = fc
  .record({
    source: arbSource,
    target: arbTarget,
    service: arbServiceArg,
    // relayed: mostly by the relay of remote1 (SPEC §3.4), sometimes by anyone, for anyone
    relayed: weighted([20, fc.constant(null)], [2, fc.constant('relay')], [1, fc.constantFrom('remote1', 'work')]),
    assumeYes: fc.boolean(),
  })
  .map(({ relayed, ...q }) => ({ ...q, source: relayed === 'relay' ? 'relay' : q.source, requestedSource: relayed === 'relay' ? 'remote1' : relayed }));


/** A request no front end may accept, and what the deny reason must say. */
export interface BadReq {
  req: Req;
  mentions: RegExp[];
  /**
   * The target itself is fine (the service or the requested source is
   * not): the decision still reports it normalised, as Qubes does.
   */
  targetValid: boolean;
}

const long = 'x'.repeat(MAX_REQUEST_FIELD + 1);

export const arbBadRequest: fc.Arbitrary<BadReq> = fc
  .tuple(
    arbRequest,
    fc.oneof(
      fc.constantFrom('', '*', '+a', 'svc A', 'svc/A', 'svc.\u00c4', 'svc\0', 'svc.A+a b', 'svc.A+\u00e4', 'svc.A+a\n').map((value) => ({
        field: 'service' as const,
        value,
        mentions: [/^bad request: /, /service|argument/],
      })),
      fc
        .constantFrom('@anyvm', '*', '@tag:t1', '@type:AppVM', '@dispvm:nobody', '@dispvm:@tag:dvm', '@bogus', '@tag:')
        .map((value) => ({ field: 'target' as const, value, mentions: [/^bad request: /, /token|template/] })),
      fc
        .constantFrom('source', 'target', 'service')
        .map((field) => ({ field, value: long, mentions: [/^bad request: /, new RegExp(`${field} longer than ${MAX_REQUEST_FIELD}`)] })),
      fc
        .constantFrom('nobody', 'dom0')
        .map((value) => ({ field: 'requestedSource' as const, value, mentions: [/^bad request: /, /requested source/] })),
    ),
  )
  // the other fields valid, so the reason can only be the bad one
  .map(([req, bad]) => ({
    req: { ...req, target: 'work', service: 'svc.A', [bad.field]: bad.value },
    mentions: bad.mentions,
    targetValid: (bad.field === 'service' || bad.field === 'requestedSource') && bad.value.length <= MAX_REQUEST_FIELD,
  }));

/** A rule token a request can carry as it is (a name, a `uuid:` form, a dom0 spelling, `@default`, `@dispvm[:X]`). */
function concrete(tok: string, asTarget: boolean): boolean {
  if (!tok.startsWith('@')) return tok !== '*' && !tok.startsWith('$');
  if (!asTarget) return tok === '@adminvm';
  return ['@adminvm', '@default', '@dispvm'].includes(tok) || (tok.startsWith('@dispvm:') && !tok.startsWith('@dispvm:@'));
}

/** A request aimed at a rule: its service and argument, and its source and target where they name one value. */
export function aimAt(r: RuleSpec, q: Req): Req {
  const plus = q.service.indexOf('+');
  const arg = r.argument === '*' ? (plus < 0 ? '' : q.service.slice(plus)) : r.argument === '+' ? '' : r.argument;
  return {
    ...q,
    service: r.service === '*' ? q.service : r.service + arg,
    // a relayed request keeps its relay as the source (the rule's source is then the RemoteVM's)
    source: concrete(r.source, false) && q.requestedSource === null ? r.source : q.source,
    target: concrete(r.target, true) ? r.target : q.target,
  };
}

/** Requests, each either as generated or aimed at the rule of that index (for a policy, see gen/case.ts). */
export const arbRequestPicks = fc.array(fc.tuple(arbRequest, fc.option(fc.nat(), { freq: 2 })), { minLength: 1, maxLength: 12 });

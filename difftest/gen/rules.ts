/**
 * Rules for the differential areas. A `RuleShape` says which tokens each
 * column and parameter draws from and how often; `arbRuleOf(shape)` makes
 * valid rules (parameters only where the action takes them), and
 * `ODD_PARAMS` the parameter spellings that are odd or invalid, for the
 * area that checks that both implementations agree on what loads.
 */
import fc from 'fast-check';
import { ARGUMENTS, SERVICES, type Action, type RuleSpec } from '../../test/property/gen/policy.js';

const weighted = <T>(...pairs: [number, fc.Arbitrary<T>][]): fc.Arbitrary<T> =>
  fc.oneof(...pairs.map(([weight, arbitrary]) => ({ weight, arbitrary })));

export interface RuleShape {
  sources: readonly string[];
  targets: readonly string[];
  redirects: readonly string[];
  /** Weights of allow / deny / ask. */
  actions: [number, number, number];
  /** Chance (0–1) of `target=` on allow/ask, `default_target=` on ask, `autostart=no`, `user=`, `notify=`. */
  redirectRate: number;
  defaultRate: number;
  autostartRate: number;
  userRate: number;
  notifyRate: number;
  /** Chance of the `*` service, and of `*` as the argument. */
  anyServiceRate: number;
  anyArgumentRate: number;
}

export const BASE_SHAPE: Omit<RuleShape, 'sources' | 'targets' | 'redirects'> = {
  actions: [4, 3, 3],
  redirectRate: 0.25,
  defaultRate: 0.3,
  autostartRate: 0.15,
  userRate: 0.15,
  notifyRate: 0.2,
  anyServiceRate: 0.1,
  anyArgumentRate: 0.5,
};

const chance = (p: number) => fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x < p);
/** A value with probability p, else null. */
const sometimes = <T>(p: number, values: readonly T[]) => fc.tuple(chance(p), fc.constantFrom(...values)).map(([yes, v]) => (yes ? v : null));

export function arbRuleOf(shape: RuleShape): fc.Arbitrary<RuleSpec> {
  return fc
    .record({
      anyService: chance(shape.anyServiceRate),
      service: fc.constantFrom(...SERVICES),
      anyArg: chance(shape.anyArgumentRate),
      argument: fc.constantFrom(...ARGUMENTS),
      source: fc.constantFrom(...shape.sources),
      target: fc.constantFrom(...shape.targets),
      action: weighted<Action>([shape.actions[0], fc.constant('allow')], [shape.actions[1], fc.constant('deny')], [shape.actions[2], fc.constant('ask')]),
      redirect: sometimes(shape.redirectRate, shape.redirects),
      dflt: sometimes(shape.defaultRate, shape.redirects),
      autostartNo: chance(shape.autostartRate),
      user: sometimes(shape.userRate, ['root', 'user']),
      notify: sometimes(shape.notifyRate, ['yes', 'no']),
      rotate: fc.nat(),
    })
    .map((r) => {
      const params: string[] = [];
      if (r.notify !== null) params.push(`notify=${r.notify}`);
      if (r.action !== 'deny') {
        // allow @default needs target= (a syntax error otherwise, which only the params area wants)
        const redirect = r.redirect ?? (r.action === 'allow' && r.target === '@default' ? 'work' : null);
        if (redirect !== null) params.push(`target=${redirect}`);
        if (r.user !== null) params.push(`user=${r.user}`);
        if (r.autostartNo) params.push('autostart=no');
        if (r.action === 'ask' && r.dflt !== null) params.push(`default_target=${r.dflt}`);
      }
      const k = params.length ? r.rotate % params.length : 0;
      return {
        service: r.anyService ? '*' : r.service,
        argument: r.anyService || r.anyArg ? '*' : r.argument,
        source: r.source,
        target: r.target,
        action: r.action,
        params: [...params.slice(k), ...params.slice(0, k)],
      };
    });
}

/**
 * Parameter lists that are odd: empty values (`target=`, `default_target=`,
 * `user=`…), values of the wrong kind, repeated or unknown keys, parameters
 * an action does not take. Some load in both implementations, most must be
 * syntax errors in both: the area compares, it does not presume.
 */
export const ODD_PARAMS: readonly string[][] = [
  ['target='],
  ['default_target='],
  ['user='],
  ['notify='],
  ['autostart='],
  ['target'],
  ['=x'],
  ['='],
  ['user=a=b'],
  ['user=ü'],
  ['user=\u007f'],
  ['user=x'.padEnd(4100, 'x')],
  ['user=$anyvm'],
  ['notify=Yes'],
  ['autostart=true'],
  ['notify=yes', 'notify=yes'],
  ['target=work', 'target=vault'],
  ['bogus=1'],
  ['target=@anyvm'],
  ['target=*'],
  ['target=@default'],
  ['target=@tag:t1'],
  ['target=@type:AppVM'],
  ['target=@dispvm:@tag:dvm'],
  ['target=@dispvm:'],
  ['target=$adminvm'],
  ['target=@adminvm:x'],
  ['default_target=@anyvm'],
  ['default_target=@default'],
  ['target=uuid:'],
  ['target=uuid:not-a-uuid'],
  ['target=nobody'],
  ['default_target=nobody'],
  ['target=@dispvm:nobody'],
  ['user=root', 'autostart=no', 'notify=yes'],
];

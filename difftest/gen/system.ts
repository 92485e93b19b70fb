/**
 * System info for the differential areas: the property generator's
 * well-formed systems (test/property/gen/system.ts), with the oddities a
 * real or hand-made system can have applied on top (SPEC §5.1): no dom0,
 * dom0 without its zero uuid, qubes without uuid, two qubes sharing one,
 * the zero uuid on a qube that is not dom0, internal qubes, disposable
 * templates whose `default_dispvm` points nowhere.
 */
import fc from 'fast-check';
import { arbSystem, NAMES, uuidFor, ZERO_UUID, type DomainJson } from '../../test/property/gen/system.js';

export type Domains = Record<string, DomainJson>;

export type Oddity =
  | { kind: 'no-dom0' }
  | { kind: 'dom0-no-uuid' }
  | { kind: 'dom0-other-uuid' }
  | { kind: 'no-uuid'; name: string }
  | { kind: 'same-uuid'; name: string; as: string }
  | { kind: 'zero-uuid'; name: string }
  | { kind: 'internal'; name: string; value: unknown }
  | { kind: 'no-default-dispvm-template'; name: string }
  | { kind: 'running'; name: string }
  | { kind: 'not-template'; name: string };

const name = fc.constantFrom(...NAMES);

export const arbOddity: fc.Arbitrary<Oddity> = fc.oneof(
  fc.constant({ kind: 'no-dom0' as const }),
  fc.constant({ kind: 'dom0-no-uuid' as const }),
  fc.constant({ kind: 'dom0-other-uuid' as const }),
  name.map((n) => ({ kind: 'no-uuid' as const, name: n })),
  fc.tuple(name, name).map(([n, as]) => ({ kind: 'same-uuid' as const, name: n, as })),
  name.map((n) => ({ kind: 'zero-uuid' as const, name: n })),
  fc.tuple(name, fc.constantFrom<unknown>(true, '1', 'yes', '', false, null)).map(([n, value]) => ({ kind: 'internal' as const, name: n, value })),
  name.map((n) => ({ kind: 'no-default-dispvm-template' as const, name: n })),
  name.map((n) => ({ kind: 'running' as const, name: n })),
  fc.constantFrom('dvm-a', 'dvm-b').map((n) => ({ kind: 'not-template' as const, name: n })),
);

/** Apply oddities to a copy of a system-info document. */
export function applyOddities(domains: Domains, odd: readonly Oddity[]): Domains {
  const out: Domains = structuredClone(domains);
  for (const o of odd) {
    const q = 'name' in o ? out[o.name] : out['dom0'];
    switch (o.kind) {
      case 'no-dom0':
        delete out['dom0'];
        break;
      case 'dom0-no-uuid':
        if (q) delete q['uuid'];
        break;
      case 'dom0-other-uuid':
        if (q) q['uuid'] = uuidFor('dom0');
        break;
      case 'no-uuid':
        if (q) delete q['uuid'];
        break;
      case 'same-uuid':
        if (q && out[o.as]?.['uuid'] !== undefined) q['uuid'] = out[o.as]!['uuid'];
        break;
      case 'zero-uuid':
        if (q) q['uuid'] = ZERO_UUID;
        break;
      case 'internal':
        if (q) q['internal'] = o.value;
        break;
      case 'no-default-dispvm-template':
        if (q) q['default_dispvm'] = 'gone-dvm';
        break;
      case 'running':
        if (q) q['power_state'] = 'Running';
        break;
      case 'not-template':
        if (q) q['template_for_dispvms'] = false;
        break;
    }
  }
  return out;
}

/** A system, with `oddities` extra facts drawn at the given rate. */
export function arbDiffSystem(maxOddities: number): fc.Arbitrary<{ domains: Domains }> {
  return fc
    .tuple(arbSystem, fc.array(arbOddity, { maxLength: maxOddities }))
    .map(([sys, odd]) => ({ domains: applyOddities(sys.json.domains, odd) }));
}

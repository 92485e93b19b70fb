/**
 * Random but well-formed system info (SPEC §5.1): qubes from a small pool of
 * names (so policies and requests name them often), with tags, every type,
 * disposable templates, uuids, power states, GuiVMs, `internal` in all its
 * spellings, RemoteVMs with relays, and unknown fields. Also the malformed
 * variants: wrong JSON types, broken documents, truncated text.
 */
import fc from 'fast-check';
import { SystemInfo, systemInfoFromJson } from '../../../src/policy/system-info.js';

/** Qube names the generators draw from (not all exist in a given system). */
export const NAMES = ['work', 'personal', 'vault', 'untrusted', 'sys-net', 'dvm-a', 'dvm-b', 'tpl', 'remote1', 'relay'] as const;
export const TAGS = ['t1', 't2', 'dvm', 'guivm-relay'] as const;
export const TYPES = ['AppVM', 'TemplateVM', 'StandaloneVM', 'DispVM', 'RemoteVM'] as const;
export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** A fixed uuid per name, so policies can write `uuid:` forms without seeing the system. */
export function uuidFor(name: string): string {
  const i = ((NAMES as readonly string[]).indexOf(name) + 1).toString(16);
  return `${i.repeat(8)}-1111-4111-8111-${i.padStart(12, '0')}`;
}

export type DomainJson = Record<string, unknown>;
export interface SystemCase {
  /** The system-info document as qubesd would send it. */
  json: { domains: Record<string, DomainJson> };
  si: SystemInfo;
}

const weighted = <T>(...pairs: [number, fc.Arbitrary<T>][]): fc.Arbitrary<T> =>
  fc.oneof(...pairs.map(([weight, arbitrary]) => ({ weight, arbitrary })));

const maybe = <T>(arb: fc.Arbitrary<T>, absent = 1, present = 3): fc.Arbitrary<T | undefined> =>
  weighted<T | undefined>([absent, fc.constant(undefined)], [present, arb]);

const name = fc.constantFrom(...NAMES);

const domain = fc.record({
  name,
  type: weighted([6, fc.constant('AppVM')], [1, fc.constantFrom(...TYPES)]),
  tags: maybe(fc.subarray([...TAGS])),
  template_for_dispvms: maybe(fc.boolean()),
  // mostly a qube of the pool (maybe a template, maybe absent), rarely a name nothing has
  default_dispvm: weighted<string | null | undefined>(
    [12, fc.constantFrom('dvm-a', 'dvm-b')],
    [3, fc.constantFrom<null | undefined>(null, undefined)],
    [1, name],
    [1, fc.constant('no-such-dvm')],
  ),
  power_state: maybe(fc.constantFrom('Running', 'Halted', 'Paused')),
  hasUuid: weighted([1, fc.constant(false)], [12, fc.constant(true)]),
  guivm: maybe(fc.constantFrom(null, 'dom0', 'relay')),
  internal: weighted<unknown>([8, fc.constant(undefined)], [1, fc.constantFrom(true, false, '1', '', null)]),
  relayvm: maybe(fc.constantFrom(null, 'relay', 'work')),
  transport_rpc: maybe(fc.constantFrom(null, 'qubesair.SSHProxy')),
  label: maybe(fc.constantFrom('red', 'blue')),
  extra: maybe(fc.constant(true), 6, 1),
});

type Domain = typeof domain extends fc.Arbitrary<infer D> ? D : never;

function domainJson(d: Domain): DomainJson {
  // remote1 is mostly a RemoteVM relayed by relay (SPEC §3.4), so relayed requests get far
  const remote = d.name === 'remote1' ? !d.extra : d.type === 'RemoteVM';
  const out: DomainJson = { type: remote ? 'RemoteVM' : d.type };
  for (const k of ['tags', 'template_for_dispvms', 'default_dispvm', 'power_state', 'guivm', 'internal', 'label'] as const)
    if (d[k] !== undefined) out[k] = d[k];
  // templates for disposables are what @dispvm needs: make dvm-* templates unless told otherwise
  if (d.name.startsWith('dvm-') && d.template_for_dispvms === undefined) out['template_for_dispvms'] = true;
  if (remote) {
    const usual = d.name === 'remote1' && d.hasUuid;
    if (d.relayvm !== undefined || usual) out['relayvm'] = usual ? 'relay' : d.relayvm;
    if (d.transport_rpc !== undefined || usual) out['transport_rpc'] = usual ? 'qubesair.SSHProxy' : d.transport_rpc;
  }
  if (d.hasUuid) out['uuid'] = uuidFor(d.name);
  if (d.label !== undefined) out['icon'] = `appvm-${d.label}`;
  if (d.extra) out['future_field'] = { anything: [1, 'x'] };
  return out;
}

const dom0 = fc.record({
  present: weighted([1, fc.constant(false)], [19, fc.constant(true)]),
  tags: fc.subarray(['t1', 'guivm-relay']),
  default_dispvm: fc.constantFrom(null, 'dvm-a'),
  // most systems have the RemoteVM remote1 and its relay (SPEC §3.4)
  remote: weighted([1, fc.constant(false)], [2, fc.constant(true)]),
});

const REMOTE: Record<string, DomainJson> = {
  relay: { type: 'AppVM', uuid: uuidFor('relay'), power_state: 'Running', guivm: 'dom0', tags: ['guivm-relay'], default_dispvm: 'dvm-b' },
  remote1: { type: 'RemoteVM', uuid: uuidFor('remote1'), relayvm: 'relay', transport_rpc: 'qubesair.SSHProxy' },
};

/** A well-formed system: dom0 (almost always) and 4–10 qubes of the pool. */
export const arbSystem: fc.Arbitrary<SystemCase> = fc
  .tuple(dom0, fc.uniqueArray(domain, { selector: (d) => d.name, minLength: 4, maxLength: NAMES.length }))
  .map(([d0, qubes]) => {
    const domains: Record<string, DomainJson> = {};
    if (d0.present)
      domains['dom0'] = { type: 'AdminVM', uuid: ZERO_UUID, power_state: 'Running', tags: d0.tags, default_dispvm: d0.default_dispvm, guivm: null };
    for (const q of qubes) domains[q.name] = domainJson(q);
    if (d0.remote) for (const [n, d] of Object.entries(REMOTE)) domains[n] ??= d;
    const json = { domains };
    return { json, si: systemInfoFromJson(json) };
  });

/** Every field of a domain with the JSON types it accepts (SPEC §5.1). */
export const FIELD_TYPES: Record<string, ReadonlyArray<'string' | 'null' | 'boolean' | 'array' | 'object' | 'number'>> = {
  type: ['string'],
  tags: ['array'],
  template_for_dispvms: ['boolean'],
  default_dispvm: ['string', 'null'],
  power_state: ['string'],
  uuid: ['string'],
  guivm: ['string', 'null'],
  icon: ['string'],
  label: ['string'],
  internal: ['boolean', 'string', 'null'],
  relayvm: ['string', 'null'],
  transport_rpc: ['string', 'null'],
};

const VALUE_OF: Record<string, unknown> = { string: 'x', null: null, boolean: true, array: [], object: {}, number: 7 };

/** A broken system-info document, and words its error message must contain. */
export interface BadSystem {
  text: string;
  /** What the error message must mention (the field, or the problem). */
  mentions: string[];
}

/** Malformed system info: a field of the wrong type, a broken structure, truncated or non-JSON text. */
export const arbBadSystem: fc.Arbitrary<BadSystem> = arbSystem.chain(({ json }) => {
  const names = Object.keys(json.domains);
  const wrongType = fc
    .tuple(fc.constantFrom(...names), fc.constantFrom(...Object.keys(FIELD_TYPES)), fc.constantFrom(...Object.keys(VALUE_OF)))
    .filter(([, field, kind]) => !FIELD_TYPES[field]!.includes(kind as never))
    .map(([n, field, kind]) => {
      const doc = structuredClone(json);
      doc.domains[n]![field] = VALUE_OF[kind];
      return { text: JSON.stringify(doc), mentions: [JSON.stringify(n), field] };
    });
  const badTags = fc.constantFrom(...names).map((n) => {
    const doc = structuredClone(json);
    doc.domains[n]!['tags'] = ['ok', 3];
    return { text: JSON.stringify(doc), mentions: [JSON.stringify(n), 'tags'] };
  });
  const structure = fc.constantFrom<BadSystem>(
    { text: '[]', mentions: ['document'] },
    { text: '"domains"', mentions: ['document'] },
    { text: 'null', mentions: ['document'] },
    { text: '{}', mentions: ['domains'] },
    { text: '{"domains": []}', mentions: ['domains'] },
    { text: '{"domains": 5}', mentions: ['domains'] },
    { text: '{"domains": {"work": []}}', mentions: ['"work"'] },
    { text: '{"domains": {"work": "AppVM"}}', mentions: ['"work"'] },
    { text: '{"domains": {"work": {"tags": []}}}', mentions: ['"work"', 'type'] },
  );
  const text = JSON.stringify(json);
  const truncated = fc.integer({ min: 0, max: text.length - 1 }).map((n) => ({ text: text.slice(0, n), mentions: ['not valid JSON'] }));
  const notJson = fc
    .string({ unit: 'binary', maxLength: 40 })
    .filter((s) => {
      try {
        JSON.parse(s);
        return false;
      } catch {
        return true;
      }
    })
    .map((s) => ({ text: s, mentions: ['not valid JSON'] }));
  return fc.oneof(wrongType, badTags, structure, truncated, notJson);
});

/**
 * Random frames for the daemon's sockets (SPEC §8): policy requests
 * (`key=value` lines and an empty line) and `policy.EvalSimple` /
 * `policy.EvalGUI` calls (`SERVICE+ARG REMOTE …\0SOURCE\0TARGET`), each
 * well-formed or damaged (noise bytes, NUL, non-ASCII, CR, cuts, repeated,
 * unknown and missing keys, bad booleans, over-long values, no final
 * empty line, data after it), delivered in one or several chunks, with or
 * without the client closing its side.
 */
import fc from 'fast-check';
import { arbRequest, type Req } from './request.js';
import { NAMES } from './system.js';

export interface Frame {
  socket: 'policy' | 'eval' | 'gui';
  bytes: Buffer<ArrayBufferLike>;
  /** Cut points (chunked delivery). */
  cuts: number[];
  /** The client closes its side after sending (a client that does not is timed out). */
  halfClose: boolean;
  what: string;
}

const weighted = <T>(...pairs: [number, fc.Arbitrary<T>][]): fc.Arbitrary<T> =>
  fc.oneof(...pairs.map(([weight, arbitrary]) => ({ weight, arbitrary })));

type Mutation = (b: Buffer) => Buffer<ArrayBufferLike>;

const byteNoise = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, v]): [string, Mutation] => [
  `byte 0x${v.toString(16)} at ${at}`,
  (b) => {
    const i = at % (b.length + 1);
    return Buffer.concat([b.subarray(0, i), Buffer.from([v]), b.subarray(i)]);
  },
]);
const cut = fc.nat().map((at): [string, Mutation] => [`cut at ${at}`, (b) => b.subarray(0, at % (b.length + 1))]);
const drop = fc.tuple(fc.nat(), fc.nat(8)).map(([at, n]): [string, Mutation] => [
  `drop ${n} at ${at}`,
  (b) => {
    const i = at % (b.length + 1);
    return Buffer.concat([b.subarray(0, i), b.subarray(i + n)]);
  },
]);
const textInsert = fc
  .tuple(fc.nat(), fc.constantFrom('\0', '\u00e9', '\r', 'x'.repeat(70_000), '\n', '=', ' ', 'domain_id=5\n', '+'))
  .map(([at, s]): [string, Mutation] => [
    `insert ${JSON.stringify(s.length > 20 ? `${s[0]}×${s.length}` : s)} at ${at}`,
    (b) => {
      const i = at % (b.length + 1);
      return Buffer.concat([b.subarray(0, i), Buffer.from(s, 'utf8'), b.subarray(i)]);
    },
  ]);

/** Keys and values of a policy request, before it is written. */
const policyLines = (q: Req) =>
  fc
    .record({
      ay: weighted([1, fc.constant(null)], [3, fc.constantFrom('yes', 'no')]),
      je: weighted([2, fc.constant(null)], [1, fc.constantFrom('yes', 'no')]),
      order: fc.nat(),
      extra: weighted(
        [12, fc.constant<string[]>([])],
        [1, fc.constantFrom('domain_id=3', 'process_ident=SOCKET7', 'foo=bar', 'source=work', 'no equals sign', 'assume_yes_for_ask=maybe', 'just_evaluate=Yes', '=x').map((l) => [l])],
      ),
      missing: weighted([14, fc.constant(null)], [1, fc.constantFrom('source', 'intended_target', 'service_and_arg')]),
    })
    .map(({ ay, je, order, extra, missing }) => {
      const lines = [`source=${q.source}`, `intended_target=${q.target}`, `service_and_arg=${q.service}`];
      if (ay !== null) lines.push(`assume_yes_for_ask=${ay}`);
      if (je !== null) lines.push(`just_evaluate=${je}`);
      if (q.requestedSource !== null) lines.push(`requested_source=${q.requestedSource}`);
      const kept = lines.filter((l) => missing === null || !l.startsWith(missing + '='));
      const k = order % (kept.length + 1);
      return [...kept.slice(k), ...kept.slice(0, k), ...extra];
    });

const ending = weighted([10, fc.constant('\n\n')], [1, fc.constantFrom('\n', '', '\n\nsource=x\n\n', '\n\ntrailing garbage')]);

const delivery = fc.record({
  cuts: weighted([3, fc.constant<number[]>([])], [1, fc.array(fc.nat(), { maxLength: 3 })]),
  halfClose: weighted([12, fc.constant(true)], [1, fc.constant(false)]),
});

const mutations = weighted([3, fc.constant<[string, Mutation][]>([])], [2, fc.array(fc.oneof(byteNoise, cut, drop, textInsert), { minLength: 1, maxLength: 3 })]);

export const arbPolicyFrame: fc.Arbitrary<Frame> = arbRequest
  .chain((q) => fc.tuple(policyLines(q), ending, mutations, delivery))
  .map(([lines, end, muts, d]) => {
    let bytes: Buffer<ArrayBufferLike> = Buffer.from(lines.join('\n') + end, 'latin1');
    for (const [, m] of muts) bytes = m(bytes);
    return { socket: 'policy' as const, bytes, cuts: d.cuts, halfClose: d.halfClose, what: muts.map(([w]) => w).join(', ') || 'as written' };
  });

const qubeName = weighted([8, fc.constantFrom(...NAMES)], [1, fc.constantFrom('dom0', '', 'x'.repeat(40), 'bad name', '@adminvm', 'a\0b')]);

export const arbServiceFrame: fc.Arbitrary<Frame> = fc
  .record({
    socket: fc.constantFrom<'eval' | 'gui'>('eval', 'gui'),
    service: weighted([8, fc.constant(null)], [1, fc.constantFrom('policy.EvalSimple', 'policy.EvalGUI', 'policy.Other', '')]),
    queried: weighted([8, fc.constantFrom('svc.A', 'svc.B+b', 'qubes.Filecopy+a', 'svc.A+')], [1, fc.constantFrom('', '+a', 'bad/svc', null)]),
    remote: weighted([6, fc.constantFrom('relay', 'work', 'dom0')], [1, fc.constantFrom('', 'relay extra words')]),
    source: qubeName,
    target: qubeName,
    muts: mutations,
    cuts: weighted([3, fc.constant<number[]>([])], [1, fc.array(fc.nat(), { maxLength: 3 })]),
  })
  .map(({ socket, service, queried, remote, source, target, muts, cuts }) => {
    const name = service ?? (socket === 'eval' ? 'policy.EvalSimple' : 'policy.EvalGUI');
    let bytes: Buffer<ArrayBufferLike> = Buffer.from(`${name}${queried === null ? '' : '+' + queried} ${remote} keyword adminvm\0${source}\0${target}`, 'latin1');
    for (const [, m] of muts) bytes = m(bytes);
    return { socket, bytes, cuts, halfClose: true, what: muts.map(([w]) => w).join(', ') || 'as written' };
  });

export const arbFrame: fc.Arbitrary<Frame> = weighted([3, arbPolicyFrame], [1, arbServiceFrame]);

/**
 * What `npm run difftest` runs: one differential property per area
 * (difftest/gen/areas.ts) comparing our answers, in process, with the
 * reference's (difftest/oracle.py over a pipe); and `processes`, the same
 * comparison through real processes of dist/bin for a sample. A failing case
 * is shrunk by fast-check to a minimal policy and request.
 */
import fc from 'fast-check';
import { chunkRunner } from '../test/property/lib/chunk.js';
import { fail, property, type AnyProperty } from '../test/property/lib/property.js';
import type { Req } from '../test/property/gen/request.js';
import { AREAS } from './gen/areas.js';
import { writeCase, type DiffCase } from './lib/case.js';
import { judge, type Difference } from './lib/compare.js';
import { oracle, type OracleRequest, type RefAnswer, type RefReply } from './lib/oracle-client.js';
import { oursInProcess, oursInProcesses, type OurAnswer } from './lib/ours.js';

/** Requests that fell under each declared difference, and other counts (reset per chunk). */
let stats: Record<string, number> = {};
const count = (key: string) => (stats[key] = (stats[key] ?? 0) + 1);

function oracleRequest(q: Req): OracleRequest {
  return q.requestedSource === null ? { source: q.source, target: q.target, service: q.service } : { source: q.source, target: q.target, service: q.service, requested_source: q.requestedSource };
}

const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v));

function describeProblems(q: Req, problems: Difference[], ref: RefAnswer, ours: OurAnswer, reply: RefReply): string {
  const lines = [`request: source=${show(q.source)} target=${show(q.target)} service=${show(q.service)}${q.requestedSource !== null ? ` requested_source=${show(q.requestedSource)}` : ''}`];
  for (const p of problems) lines.push(`  ${p.channel}.${p.field}: reference ${show(p.expected)}, ours ${show(p.actual)}`);
  lines.push(`  reference decision: ${JSON.stringify(ref.decision)}`);
  if (reply.load !== null) lines.push(`  reference load: ${reply.load.kind}: ${reply.load.message}`);
  for (const [k, v] of [
    ['exec', ref.exec],
    ['exec_yes', ref.exec_yes],
  ] as const)
    if (v.crash !== null) lines.push(`  reference ${k} crashed: ${v.crash}`);
  lines.push(`  our decision: ${JSON.stringify(ours.decision)}`);
  return lines.join('\n');
}

/** Why the reference denied, in a few words (for the run's summary). */
function denyKind(ref: RefAnswer): string {
  const r = ref.decision.reason;
  if (ref.decision.crash !== null) return 'it crashed';
  if (r.startsWith('bad request')) {
    if (/is not a relay for|requested source|relayvm/.test(r)) return 'bad request: requested_source';
    if (/template for dispvm/.test(r)) return 'bad request: @dispvm:X of a qube that is no template';
    return 'bad request: target';
  }
  if (r.startsWith('policy failed to load')) return 'load error';
  if (r.startsWith('no matching rule')) return 'no matching rule';
  if (r.startsWith('denied by policy')) return 'a deny rule';
  return 'an allow or ask that could not be carried out';
}

async function check(c: DiffCase, through: 'in-process' | 'processes'): Promise<void> {
  const disk = writeCase(c);
  try {
    const reply = await oracle().ask({
      id: 0,
      policy: [disk.dirs.policy],
      legacy: disk.dirs.legacy,
      legacy_mode: c.legacyMode,
      system_info: c.system,
      requests: c.reqs.map(oracleRequest),
    });
    const ours = through === 'in-process' ? await oursInProcess(disk, c.reqs, c.legacyMode) : await oursInProcesses(disk, c.reqs, c.legacyMode);
    if (reply.load !== null) count(`reference load ${reply.load.kind}`);
    for (const [i, q] of c.reqs.entries()) {
      const ref = reply.answers[i]!;
      const mine = ours[i]!;
      const verdict = judge({ req: q, domains: c.system.domains, refLoadFailed: reply.load !== null }, ref, mine);
      for (const d of verdict.declared) count(`declared ${d.id}`);
      if (ref.decision.crash !== null) count('reference crashed (decision)');
      count(`reference ${ref.decision.result}${ref.decision.result === 'deny' ? ` (${denyKind(ref)})` : ''}`);
      if (verdict.problems.length > 0)
        fail(verdict.problems.some((p) => p.ourAllow) ? 'wrong-allow' : 'disagreement', describeProblems(q, verdict.problems, ref, mine, reply));
    }
  } finally {
    disk.remove();
  }
}

const requests = (c: DiffCase) => c.reqs.length;

const AREA_PROPERTIES: AnyProperty[] = AREAS.map((a) =>
  property<DiffCase>({
    id: a.id,
    letter: 'diff',
    title: a.title,
    arb: a.arb,
    check: (c) => check(c, 'in-process'),
    testRuns: 2,
    fuzzWeight: a.weight,
    inputs: requests,
    async: true,
    timeoutMs: 120_000,
  }),
);

/** The same comparison through real processes of dist/bin (eval --batch, and qrexec-policy-exec three ways per request). */
const processes = property<DiffCase>({
  id: 'processes',
  letter: 'diff',
  title: 'every area, through real processes of dist/bin',
  arb: fc.oneof(...AREAS.map((a) => a.arb)),
  check: (c) => check(c, 'processes'),
  testRuns: 1,
  fuzzWeight: 0,
  inputs: requests,
  async: true,
  timeoutMs: 600_000,
});

export const PROPERTIES: AnyProperty[] = [...AREA_PROPERTIES, processes];

export const runChunk = chunkRunner(PROPERTIES, () => {
  const s = stats;
  stats = {};
  return s;
});

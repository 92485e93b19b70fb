#!/usr/bin/env node
/**
 * npm run difftest -- --reference DIR [--requests N] [--process-requests M] [--seed S] [--jobs J]
 *                     [--only AREA,AREA] [--time-limit SECONDS] [--inject NAME] [--report FILE]
 *                     [--replay ID:SEED:PATH] [--list] [--python PATH]
 *
 * Differential testing against Qubes' own policy evaluator: random systems,
 * policy trees and requests in every area of difftest/gen/areas.ts, decided
 * by the reference (run from DIR, the directory that holds the `qrexec/`
 * package of QubesOS/qubes-core-qrexec; or $QREXEC_REFERENCE) and by us.
 * Compared: every field of the eval --json decision, the exec result block
 * byte for byte (plain and --assume-yes-for-ask), the --just-evaluate exit
 * code, and load errors. Differences listed in difftest/lib/compare.ts
 * (DECLARED, each with its SPEC section) are allowed, provided we deny;
 * anything else is printed shrunk to a minimal case, and the exit status is 1.
 *
 * N requests go through our code in process (eval --batch and
 * qrexec-policy-exec, by their entry functions), M more through real
 * processes of dist/bin (default: N/200, at most 5,000). The reference is
 * never copied into this repository: it is read from DIR at run time.
 * --inject NAME builds our code with a known bug (difftest/mutations.mjs)
 * to show the tester catches it; --list shows the areas and the mutations.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleEntry, runPool, workerMain } from '../scripts/lib/property-pool.mjs';
import { makeUsage, parseOptions } from '../scripts/lib/runner-args.mjs';
import { MUTATIONS, mutationPlugin } from './mutations.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
process.env['QREXEC_POLICY_ROOT'] ??= ROOT;

const usage = makeUsage(import.meta.url, 'difftest', 5);

function parseArgs(argv) {
  const defaults = {
    reference: process.env['QREXEC_REFERENCE'] || null, requests: 10_000, processRequests: null, seed: Date.now() % 2 ** 31,
    jobs: Math.max(1, Math.min(2, os.availableParallelism())), only: null, timeLimit: 0, inject: null, report: null, replay: null,
    list: false, python: process.env['QREXEC_PYTHON'] ?? 'python3', hangTimeout: 300,
  };
  return parseOptions(argv, defaults, {
    '--reference': ['reference', 'string'],
    '--requests': ['requests', 0],
    '--process-requests': ['processRequests', 0],
    '--seed': ['seed', 0],
    '--jobs': ['jobs', 1],
    '--only': ['only', 'list'],
    '--time-limit': ['timeLimit', 0],
    '--inject': ['inject', 'string'],
    '--report': ['report', 'string'],
    '--replay': ['replay', 'string'],
    '--python': ['python', 'string'],
    '--hang-timeout': ['hangTimeout', 1],
    '--list': ['list', 'flag'],
  }, usage);
}

const CASES_PER_CHUNK = { inProcess: 25, processes: 2 };

/**
 * Every case is a small tree written, read by both sides, and removed: on
 * a disk file system removing them took a fifth of a run. Workers put them
 * on /dev/shm (memory) when it is there, unless TMPDIR says otherwise.
 */
function scratchOnTmpfs() {
  if (process.env['TMPDIR']) return {};
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK);
    return fs.statSync('/dev/shm').isDirectory() ? { TMPDIR: '/dev/shm' } : {};
  } catch {
    return {};
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.inject !== null && !Object.hasOwn(MUTATIONS, o.inject)) usage(`no mutation ${o.inject} (see --list)`);
  const outfile = await bundleEntry(path.join(ROOT, 'difftest/props.ts'), 'qrexec-difftest-', o.inject === null ? [] : [mutationPlugin(o.inject)]);
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
  const { PROPERTIES } = await import(outfile);
  if (o.list) {
    process.stdout.write('areas:\n');
    for (const p of PROPERTIES) process.stdout.write(`  ${p.id.padEnd(12)} ${p.title}\n`);
    process.stdout.write('mutations (--inject):\n');
    for (const [id, m] of Object.entries(MUTATIONS)) process.stdout.write(`  ${id.padEnd(22)} ${m.what}\n`);
    return;
  }
  if (!o.reference || !fs.existsSync(path.join(o.reference, 'qrexec', 'policy', 'parser.py')))
    usage('give --reference DIR (or QREXEC_REFERENCE): the directory that holds the qrexec/ package of QubesOS/qubes-core-qrexec');
  const areas = PROPERTIES.filter((p) => p.id !== 'processes' && (o.only === null || o.only.includes(p.id)));
  if (o.only) for (const id of o.only) if (!PROPERTIES.some((p) => p.id === id)) usage(`no area ${id} (see --list)`);
  const processTarget = o.processRequests ?? Math.min(5000, Math.floor(o.requests / 200));
  // the processes run from a copy of dist/bin taken now: a rebuild during the run must not change them
  let binSnapshot = null;
  if (processTarget > 0 || o.replay) {
    binSnapshot = fs.mkdtempSync(path.join(os.tmpdir(), 'qrexec-difftest-bin-'));
    process.on('exit', () => fs.rmSync(binSnapshot, { recursive: true, force: true }));
    fs.cpSync(path.join(ROOT, 'dist', 'bin'), binSnapshot, { recursive: true });
  }

  const rows = new Map(PROPERTIES.map((p) => [p.id, { id: p.id, title: p.title, weight: p.fuzzWeight, runs: 0, requests: 0, inFlight: 0, ms: 0, failures: [] }]));
  const stats = {};
  const t0 = performance.now();
  const deadline = o.timeLimit > 0 ? t0 + o.timeLimit * 1000 : Infinity;
  let perCase = 8; // requests per case, refined as results come in
  let chunkNo = 0;
  let timedOut = false;
  let lastReport = t0;

  const total = (ids) => ids.reduce((s, id) => s + rows.get(id).requests + rows.get(id).inFlight, 0);
  const recorded = (ids) => ids.reduce((s, id) => s + rows.get(id).requests, 0);
  const next = () => {
    if (o.replay) {
      if (chunkNo++ > 0) return null;
      const [id, seed, ...rest] = o.replay.split(':');
      return { id, runs: 1, seed: Number(seed), path: rest.join(':'), estimate: 0 };
    }
    if (performance.now() >= deadline) {
      timedOut = true;
      return null;
    }
    const seed = (o.seed + chunkNo++) % 2 ** 31;
    // real processes first in their share, so that a time limit still reaches them
    if (processTarget > 0 && total(['processes']) < processTarget && chunkNo % 8 === 1) {
      const runs = CASES_PER_CHUNK.processes;
      return { id: 'processes', runs, seed, estimate: runs * perCase };
    }
    // stop only once the requests compared reach the count asked for: an estimate of what is in
    // flight can run high, and a run must never compare fewer requests than it says it will
    if (areas.length === 0 || recorded(areas.map((a) => a.id)) >= o.requests) {
      if (processTarget > 0 && recorded(['processes']) < processTarget) return { id: 'processes', runs: CASES_PER_CHUNK.processes, seed, estimate: CASES_PER_CHUNK.processes * perCase };
      return null;
    }
    // the area furthest behind its share
    const behind = areas.reduce((best, a) => {
      const share = (r) => (rows.get(r.id).requests + rows.get(r.id).inFlight) / r.fuzzWeight;
      return share(a) < share(best) ? a : best;
    });
    const runs = CASES_PER_CHUNK.inProcess;
    return { id: behind.id, runs, seed, estimate: runs * perCase };
  };
  const jobsOut = new Map();
  let compared = 0; // requests in results recorded so far
  let firstCaught = null; // requests compared up to the first disagreement (exact with --jobs 1)
  const record = (job, result) => {
    if (result.failure && firstCaught === null && result.firstFailureAt !== undefined) firstCaught = compared + result.firstFailureAt;
    compared += result.inputs;
    const row = rows.get(job.id);
    row.runs += result.runs;
    row.requests += result.inputs;
    row.ms += result.ms;
    row.inFlight -= job.estimate;
    if (result.runs > 0 && job.id !== 'processes') perCase = 0.9 * perCase + 0.1 * (result.inputs / result.runs);
    for (const [k, v] of Object.entries(result.stats ?? {})) stats[k] = (stats[k] ?? 0) + v;
    if (result.failure) {
      row.failures.push({ ...result.failure, id: job.id });
      const f = result.failure;
      process.stderr.write(`\ndifftest: ${job.id}: ${f.category}\n${f.message}\n  replay: npm run difftest -- --reference ${o.reference} --replay ${job.id}:${f.seed}:${f.path}\n`);
    }
    if (performance.now() - lastReport > 30_000) {
      lastReport = performance.now();
      const done = [...rows.values()].reduce((s, r) => s + r.requests, 0);
      process.stderr.write(`difftest: ${done} requests compared, ${Math.round((performance.now() - t0) / 1000)} s\n`);
    }
  };
  const give = () => {
    const job = next();
    if (job !== null) {
      rows.get(job.id).inFlight += job.estimate;
      jobsOut.set(job.seed, job);
    }
    return job;
  };

  process.stderr.write(`difftest: seed ${o.seed}, ${o.jobs} job(s), ${o.requests} requests in process + ${processTarget} through dist/bin${o.inject ? `, with the injected bug ${o.inject}` : ''}\n`);
  await runPool({
    script: fileURLToPath(import.meta.url),
    outfile,
    jobs: o.jobs,
    hangTimeoutS: o.hangTimeout,
    env: { ...process.env, ...scratchOnTmpfs(), QREXEC_REFERENCE: path.resolve(o.reference), QREXEC_PYTHON: o.python, ...(binSnapshot ? { QREXEC_DIFFTEST_BIN: binSnapshot } : {}) },
    next: give,
    record,
  });

  const seconds = (performance.now() - t0) / 1000;
  const table = [...rows.values()].filter((r) => r.runs > 0 || r.failures.length > 0);
  const failures = table.flatMap((r) => r.failures);
  const out = [];
  out.push(`${'area'.padEnd(12)} ${'cases'.padStart(8)} ${'requests'.padStart(10)} ${'seconds'.padStart(8)}  disagreements`);
  for (const r of table) out.push(`${r.id.padEnd(12)} ${String(r.runs).padStart(8)} ${String(r.requests).padStart(10)} ${(r.ms / 1000).toFixed(1).padStart(8)}  ${r.failures.map((f) => f.category).join(', ') || '0'}`);
  const inProc = table.filter((r) => r.id !== 'processes').reduce((s, r) => s + r.requests, 0);
  const procs = rows.get('processes').requests;
  out.push(`total: ${inProc} requests in process, ${procs} through dist/bin; ${seconds.toFixed(1)} s wall clock, ${o.jobs} job(s), seed ${o.seed}${o.inject ? `, injected: ${o.inject}` : ''}`);
  out.push('reference answers and declared differences (requests):');
  for (const k of Object.keys(stats).sort()) out.push(`  ${k.padEnd(40)} ${stats[k]}`);
  const wrong = failures.filter((f) => f.category === 'wrong-allow').length;
  out.push(`disagreements: ${failures.length} (wrong allows: ${wrong})${firstCaught !== null ? `; the first after ${firstCaught} requests${o.jobs > 1 ? ' (about: several jobs)' : ''}` : ''}`);
  if (timedOut) out.push('stopped at the --time-limit');
  process.stdout.write(out.join('\n') + '\n');
  for (const f of failures)
    process.stdout.write(`\n--- ${f.id}: ${f.category}\n${f.message}\nreplay: npm run difftest -- --reference ${o.reference} --replay ${f.id}:${f.seed}:${f.path}\nminimal case: ${f.counterexample}\n`);
  if (o.report) fs.writeFileSync(o.report, JSON.stringify({ seed: o.seed, jobs: o.jobs, seconds, inject: o.inject, stats, areas: table }, null, 1));
  process.exitCode = failures.length > 0 ? 1 : 0;
}

if (process.argv[2] === '--worker') await workerMain(process.argv[3]);
else await main();

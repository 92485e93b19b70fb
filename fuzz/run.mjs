#!/usr/bin/env node
/**
 * npm run fuzz -- --iterations N [--jobs J] [--seed S] [--only ID,ID] [--time-limit SECONDS]
 *                 [--process-sample M] [--hang-timeout SECONDS] [--report FILE] [--list]
 *                 [--replay ID:SEED:PATH]
 *
 * Runs the properties of test/property (the ones `npm test` runs a few
 * times each) for N generated inputs in all, shared out by weight, plus the
 * daemon frame fuzzer; prints the counts of crashes, hangs, wrong allows,
 * disagreements and unexplained denials, and exits 1 if any is not 0.
 *
 * Plain node cannot run TypeScript, so this script first bundles
 * fuzz/props.ts (which imports the property definitions and, through
 * them, src/) with esbuild, a dev dependency the build already uses, into
 * a temporary directory, and runs that bundle in J worker processes. Work
 * goes out in chunks with their own seeds; a worker that stops reporting
 * for --hang-timeout seconds is killed, its chunk counted as a hang, and a
 * new worker takes over. Properties that run real processes of dist/bin
 * need `npm run build` first (the npm script does it).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';
import { bundleEntry, runPool, workerMain } from '../scripts/lib/property-pool.mjs';
import { makeUsage, parseOptions } from '../scripts/lib/runner-args.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// the bundle runs from a temporary directory: tell it where the repository (dist/bin, package.json) is
process.env['QREXEC_POLICY_ROOT'] ??= ROOT;

const usage = makeUsage(import.meta.url, 'fuzz', 5);

function parseArgs(argv) {
  const defaults = { iterations: 10_000, jobs: Math.max(1, Math.min(2, os.availableParallelism())), seed: Date.now() % 2 ** 31, only: null, timeLimit: 0, processSample: null, hangTimeout: 120, report: null, list: false, replay: null };
  return parseOptions(argv, defaults, {
    '--iterations': ['iterations', 1],
    '--jobs': ['jobs', 1],
    '--seed': ['seed', 0],
    '--only': ['only', 'list'],
    '--time-limit': ['timeLimit', 0],
    '--process-sample': ['processSample', 0],
    '--hang-timeout': ['hangTimeout', 1],
    '--report': ['report', 'string'],
    '--replay': ['replay', 'string'],
    '--list': ['list', 'flag'],
  }, usage);
}

/** Runs per property: N shared out by weight; process-spawning properties capped. */
function plan(props, o) {
  // known failures (todo) run only when asked for by id
  const chosen = props.filter((p) => (o.only === null ? p.todo === undefined : o.only.includes(p.id)));
  const total = chosen.reduce((s, p) => s + p.fuzzWeight, 0);
  const runs = chosen.map((p) => {
    const r = Math.max(1, Math.ceil((o.iterations * p.fuzzWeight) / total));
    return p.fuzzCap === undefined ? r : Math.min(r, o.processSample ?? p.fuzzCap);
  });
  // what a cap leaves out goes to the heaviest uncapped property, so that at least N inputs run
  const short = o.iterations - runs.reduce((s, r) => s + r, 0);
  const heaviest = chosen.reduce((best, p, i) => (p.fuzzCap === undefined && (best < 0 || p.fuzzWeight > chosen[best].fuzzWeight) ? i : best), -1);
  if (short > 0 && heaviest >= 0) runs[heaviest] += short;
  return chosen.map((p, i) => {
    // chunks: small for slow properties (a hang then loses little), large for fast ones
    const per = p.async ? 20 : 2000;
    return { id: p.id, letter: p.letter, title: p.title, runs: runs[i], chunks: Math.ceil(runs[i] / per), per };
  });
}

const CATEGORIES = ['crash', 'hang', 'wrong-allow', 'disagreement', 'unexplained-deny'];
const LABELS = { crash: 'crashes', hang: 'hangs', 'wrong-allow': 'wrong allows', disagreement: 'disagreements', 'unexplained-deny': 'unexplained denials' };

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const outfile = await bundleEntry(fileURLToPath(new URL('props.ts', import.meta.url)), 'qrexec-fuzz-');
  // interrupted: the exit handlers clean up (workers follow on the IPC disconnect)
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
  const { PROPERTIES } = await import(outfile);
  if (o.list) {
    for (const p of PROPERTIES) process.stdout.write(`${p.id.padEnd(22)} (${p.letter}) ${p.title}${p.todo ? `\n${''.padEnd(23)}todo, run only with --only: ${p.todo}` : ''}\n`);
    return;
  }
  if (o.only) for (const id of o.only) if (!PROPERTIES.some((p) => p.id === id)) usage(`no property ${id} (see --list)`);

  let queue;
  const rows = new Map();
  if (o.replay) {
    const [id, seed, ...rest] = o.replay.split(':');
    queue = [{ id, runs: 1, seed: Number(seed), path: rest.join(':') }];
    rows.set(id, { id, letter: '', title: 'replay', runs: 0, inputs: 0, ms: 0, failures: [] });
  } else {
    const p = plan(PROPERTIES, o);
    let n = 0;
    const lists = p.map((r) => {
      rows.set(r.id, { ...r, runs: 0, inputs: 0, ms: 0, failures: [], planned: r.runs });
      return Array.from({ length: r.chunks }, (_, i) => ({ id: r.id, runs: Math.min(r.per, r.runs - i * r.per), seed: (o.seed + n++) % 2 ** 31 }));
    });
    // round robin over the properties, so that a time limit still covers all of them
    queue = [];
    for (let i = 0; lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length) queue.push(l[i]);
    process.stderr.write(`fuzz: seed ${o.seed}, ${o.jobs} job(s), ${p.reduce((s, r) => s + r.runs, 0)} inputs over ${p.length} properties\n`);
  }

  const deadline = o.timeLimit > 0 ? performance.now() + o.timeLimit * 1000 : Infinity;
  let timedOut = false;
  const env = { ...process.env };
  let lastReport = performance.now();

  const record = (job, result) => {
    const row = rows.get(job.id);
    row.runs += result.runs;
    row.inputs += result.inputs;
    row.ms += result.ms;
    if (result.failure) {
      row.failures.push(result.failure);
      const f = result.failure;
      process.stderr.write(`\nfuzz: ${job.id}: ${f.category}: ${f.message.split('\n')[0]}\n  replay: npm run fuzz -- --replay ${job.id}:${f.seed}:${f.path}\n`);
    }
    if (performance.now() - lastReport > 30_000) {
      lastReport = performance.now();
      const done = [...rows.values()].reduce((s, r) => s + r.runs, 0);
      process.stderr.write(`fuzz: ${done} inputs done, ${Math.round((performance.now() - t0) / 1000)} s\n`);
    }
  };

  await runPool({
    script: fileURLToPath(import.meta.url),
    outfile,
    jobs: Math.min(o.jobs, Math.max(queue.length, 1)),
    hangTimeoutS: o.hangTimeout,
    env,
    next: () => {
      if (queue.length && performance.now() >= deadline) timedOut = true;
      return queue.length && !timedOut ? queue.shift() : null;
    },
    record,
  });

  const seconds = (performance.now() - t0) / 1000;
  const table = [...rows.values()];
  const counts = Object.fromEntries(CATEGORIES.map((c) => [c, table.reduce((s, r) => s + r.failures.filter((f) => f.category === c).length, 0)]));
  const totalRuns = table.reduce((s, r) => s + r.runs, 0);
  const totalInputs = table.reduce((s, r) => s + r.inputs, 0);
  const out = [];
  out.push(`${'property'.padEnd(22)} ${'prop'.padEnd(6)} ${'inputs'.padStart(10)} ${'requests'.padStart(11)} ${'seconds'.padStart(8)}  failures`);
  for (const r of table)
    out.push(`${r.id.padEnd(22)} ${`(${r.letter})`.padEnd(6)} ${String(r.runs).padStart(10)} ${String(r.inputs).padStart(11)} ${(r.ms / 1000).toFixed(1).padStart(8)}  ${r.failures.map((f) => f.category).join(', ') || '0'}`);
  out.push(`${'total'.padEnd(29)} ${String(totalRuns).padStart(10)} ${String(totalInputs).padStart(11)} ${seconds.toFixed(1).padStart(8)}  (wall clock, ${o.jobs} job(s), seed ${o.seed})`);
  out.push(CATEGORIES.map((c) => `${LABELS[c]}: ${counts[c]}`).join(', '));
  if (timedOut) out.push(`stopped at the --time-limit: ${totalRuns} of ${table.reduce((s, r) => s + r.planned, 0)} planned inputs ran`);
  process.stdout.write(out.join('\n') + '\n');
  for (const r of table)
    for (const f of r.failures)
      process.stdout.write(`\n--- ${r.id}: ${f.category}\n${f.message}\nreplay: npm run fuzz -- --replay ${r.id}:${f.seed}:${f.path}\ncounterexample: ${f.counterexample}\n`);
  if (o.report) fs.writeFileSync(o.report, JSON.stringify({ seed: o.seed, jobs: o.jobs, seconds, counts, totalInputs: totalRuns, totalRequests: totalInputs, properties: table }, null, 1));
  process.exitCode = Object.values(counts).some((n) => n > 0) ? 1 : 0;
}

// ---------------------------------------------------------------- entry: the runner, or one of its workers
if (process.argv[2] === '--worker') await workerMain(process.argv[3]);
else await main();

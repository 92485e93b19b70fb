#!/usr/bin/env node
// The per-call path: cold `qrexec-policy-exec --just-evaluate` at 10 / 1,000 /
// 10,000 rules (npm bin and standalone executable) and on a real shipped
// tree (Qubes R4.3 desktop: include/ files, a legacy directory; used by
// path from ../shared/realworld, never copied), a full five-argument
// call (admin.vm.Start through a fake qubesd, then a qrexec-client that exits
// at once), each next to `node -e 0` measured in the same run with runs
// interleaved; in-process evaluation per request; peak RSS.
//
//   BENCH_RUNS=31 (cold runs per command)   BENCH_SEA=0 (skip the standalone executable)
//   BENCH_REAL_TREE=DIR (the real tree; default ../shared/realworld/trees/r43-desktop
//   next to the repository, or /work/shared/realworld/trees/r43-desktop; skipped if absent)
//   BENCH_SUMMARY=FILE (write the medians as JSON, for run.mjs)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median, startFakeQubesd } from './lib.mjs';
import { writeTree } from './gen-policy.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 31);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const EXEC = path.join(root, 'dist/bin/qrexec-policy-exec.cjs');
const SEA = path.join(root, 'dist/sea/qrexec-policy-exec');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qpbench-'));

if (process.env.BENCH_SEA !== '0' && !fs.existsSync(SEA)) {
  console.log('building the standalone executable (npm run build:sea) ...');
  spawnSync('npm', ['run', '--silent', 'build:sea'], { cwd: root, stdio: 'ignore' });
}
const withSea = process.env.BENCH_SEA !== '0' && fs.existsSync(SEA);

const sizes = [10, 1000, 10000];
const REAL = [process.env.BENCH_REAL_TREE, path.join(root, '../shared/realworld/trees/r43-desktop'), '/work/shared/realworld/trees/r43-desktop'].find(
  (d) => d && fs.existsSync(path.join(d, 'policy.d')),
);
const trees = Object.fromEntries(sizes.map((n) => [n, writeTree(path.join(dir, `r${n}`), { rules: n, qubes: n === 10 ? 20 : 200 })]));
const sock = path.join(dir, 'qubesd.sock');
const server = await startFakeQubesd(sock);

/** One request that a default deny decides (non-ask): the common per-call work. */
function args(t) {
  return ['--just-evaluate', '--log-level', 'warn', '--path', t.policy, '--legacy-path', t.legacy, '--system-info', t.systemInfo, t.qubeNames[10], t.qubeNames[11], 'bench.Service1'];
}

// the fake qubesd lives in this process, so children must be started asynchronously
function timeAsync(cmd, argv) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, argv, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0 && code !== 1) reject(new Error(`${cmd} ${argv.join(' ')} exited ${code}`));
      else resolve(ms);
    });
  });
}

const commands = [{ name: 'node -e 0', cmd: process.execPath, args: ['-e', '0'] }];
for (const n of sizes) commands.push({ name: `exec --just-evaluate, ${n} rules`, key: `rules-${n}`, cmd: process.execPath, args: [EXEC, ...args(trees[n])] });
if (REAL)
  commands.push({
    name: `exec --just-evaluate, ${path.basename(REAL)} tree`,
    key: 'real',
    cmd: process.execPath,
    // a file copy between two app qubes: an ask, through the include/ and 50-config files
    args: [EXEC, '--just-evaluate', '--log-level', 'warn', '--path', path.join(REAL, 'policy.d'), '--legacy-path', path.join(REAL, 'legacy'), '--system-info', path.join(REAL, 'system-info.json'), 'personal', 'work', 'qubes.Filecopy'],
  });
if (withSea) for (const n of sizes) commands.push({ name: `standalone --just-evaluate, ${n} rules`, cmd: SEA, args: args(trees[n]) });
const EX = path.join(root, 'policy.d-examples');
commands.push({
  name: 'exec full call (5 args: Start + qrexec-client)',
  cmd: process.execPath,
  args: [EXEC, '--path', EX, '--legacy-path', path.join(EX, 'legacy'), '--system-info', path.join(EX, 'system-info.json'), '--log-level', 'warn', '--qubesd-socket', sock, '--qrexec-client', '/bin/true', '12', 'work', 'personal', 'qubes.Filecopy', 'SOCKET1'],
});

const times = commands.map(() => []);
for (let i = 0; i < RUNS; i++) for (const [k, c] of commands.entries()) times[k].push(await timeAsync(c.cmd, c.args));
server.close();

const base = median(times[0]);
const summary = { base, runs: RUNS, load: os.loadavg()[0], real: REAL ? path.basename(REAL) : null, calls: {}, evaluate: {} };
// Two ratios to `node -e 0`: of the medians, and the median of each round's own ratio. A round runs
// every command once, within a second: on a machine whose speed drifts (a shared host: `node -e 0`
// itself moved between 58 and 88 ms within hours here), the round's ratio cancels the drift the
// medians of the whole run keep.
const paired = (k) => median(times[k].map((t, i) => t / times[0][i]));
console.log(`cold start, ${RUNS} interleaved rounds, median wall time (load average ${os.loadavg()[0].toFixed(2)})`);
console.log(`  ${''.padEnd(48)} ${'median'.padStart(10)}  ${'ratio'.padStart(6)}  ${'per round'.padStart(9)}`);
for (const [k, c] of commands.entries()) {
  const m = median(times[k]);
  if (c.key) summary.calls[c.key] = { ms: m, ratio: m / base, paired: paired(k) };
  console.log(`  ${c.name.padEnd(48)} ${m.toFixed(1).padStart(7)} ms  ${(m / base).toFixed(3).padStart(6)}  ${paired(k).toFixed(3).padStart(9)}`);
}
console.log('  (ratio: of the medians to node -e 0; per round: the median of each round\'s ratio)');
if (!REAL) console.log('  (no real tree found: BENCH_REAL_TREE=DIR names one)');

// peak RSS of one cold run (GNU time's %M, KiB)
if (fs.existsSync('/usr/bin/time')) {
  console.log('\npeak RSS of one cold --just-evaluate:');
  for (const n of sizes) {
    const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, EXEC, ...args(trees[n])], { encoding: 'utf8' });
    const kib = Number(r.stderr.trim().split('\n').pop());
    console.log(`  ${String(n).padStart(6)} rules: ${(kib / 1024).toFixed(1)} MiB`);
  }
}

// in-process evaluation per request, policy loaded once (as the daemon does)
const { loadPolicySet } = await import(path.join(root, 'dist/lib/policy/policy.js'));
const { readSystemInfoFile } = await import(path.join(root, 'dist/lib/io/sources.js'));
const { evaluate } = await import(path.join(root, 'dist/lib/policy/evaluate.js'));
console.log('\nin-process evaluate, median µs per request over batches of 50 (warm):');
for (const n of sizes) {
  const t = trees[n];
  const policy = loadPolicySet({ paths: [t.policy], legacyPath: t.legacy });
  const si = readSystemInfoFile(t.systemInfo);
  const q = t.qubeNames;
  const services = Math.max(5, Math.floor(n / 12));
  const reqs = Array.from({ length: 3000 }, (_, i) => ({ source: q[i % q.length], target: q[(i * 7 + 3) % q.length], service: `bench.Service${i % services}` }));
  const kinds = reqs.map((r) => evaluate(policy, si, r).result);
  const cells = [];
  for (const want of ['allow', 'deny', 'ask']) {
    const sel = reqs.filter((_, i) => kinds[i] === want);
    if (sel.length < 50) {
      cells.push(`${want} n/a`);
      continue;
    }
    const per = [];
    for (let rep = 0; rep < 10; rep++)
      for (let i = 0; i + 50 <= sel.length; i += 50) {
        const t0 = performance.now();
        for (let j = i; j < i + 50; j++) evaluate(policy, si, sel[j]);
        per.push(((performance.now() - t0) * 1000) / 50);
      }
    cells.push(`${want} ${median(per).toFixed(2)} µs`);
    (summary.evaluate[n] ??= {})[want] = median(per);
  }
  console.log(`  ${String(n).padStart(6)} rules: ${cells.join(', ')}`);
}
fs.rmSync(dir, { recursive: true, force: true });
if (process.env.BENCH_SUMMARY) fs.writeFileSync(process.env.BENCH_SUMMARY, JSON.stringify({ exec: summary }));

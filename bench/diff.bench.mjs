#!/usr/bin/env node
// `qrexec-policy diff` at scale (issue 16): a generated dom0 of 200 qubes and
// 1,000 rules (bench/gen-policy.mjs), compared with copies that differ by one
// edit each, as real processes (stdout read and counted). The edits go from
// the usual (one qube-to-qube rule) to the worst case (the catch-all rule that
// every service falls through to).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { median } from './lib.mjs';
import { writeTree } from './gen-policy.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const QUBES = Number(process.env.BENCH_QUBES ?? 200);
const RULES = Number(process.env.BENCH_RULES ?? 1000);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const BIN = path.join(root, 'dist/bin/qrexec-policy.js');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qpdiff-'));
const tree = writeTree(dir, { rules: RULES, qubes: QUBES });

/** A copy of the policy directory with `edit(files)` applied to its file texts. */
function variant(name, edit) {
  const out = path.join(dir, name);
  fs.mkdirSync(out);
  const files = Object.fromEntries(fs.readdirSync(tree.policy).map((f) => [f, fs.readFileSync(path.join(tree.policy, f), 'utf8')]));
  edit(files);
  for (const [f, text] of Object.entries(files)) if (text !== null) fs.writeFileSync(path.join(out, f), text);
  return out;
}

/** Replace the first line matching `re` (a whole line) with `to(line)`. */
function editLine(text, re, to) {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => re.test(l));
  if (i < 0) throw new Error(`no line matches ${re}`);
  lines[i] = to(lines[i]);
  return lines.join('\n');
}

const cases = [
  { name: 'identical copy', dir: variant('same', () => {}) },
  {
    name: 'one qube-to-qube rule: allow -> deny',
    dir: variant('one-rule', (f) => (f['30-user.policy'] = editLine(f['30-user.policy'], /^\S+\t\S+\tapp-\d+\tapp-\d+\tallow$/, (l) => l.replace(/allow$/, 'deny')))),
  },
  {
    name: 'one @anyvm rule of one service: allow -> deny',
    dir: variant('anyvm-rule', (f) => (f['30-user.policy'] = editLine(f['30-user.policy'], /^\S+\t\*\t@anyvm\tapp-\d+\tallow$/, (l) => l.replace(/allow$/, 'deny')))),
  },
  {
    name: "one service's default: deny -> ask",
    dir: variant('service-default', (f) => (f['90-default.policy'] = editLine(f['90-default.policy'], /^bench\.Service3\t\*\t@anyvm\t@anyvm\tdeny$/, (l) => l.replace(/deny$/, 'ask')))),
  },
  { name: 'a whole file removed (50-config, a third of the rules)', dir: variant('no-config', (f) => (f['50-config-bench.policy'] = null)) },
  {
    name: 'the catch-all `* * @anyvm @anyvm deny` -> ask (worst case)',
    dir: variant('catch-all', (f) => (f['90-default.policy'] = editLine(f['90-default.policy'], /^\* \* @anyvm @anyvm deny$/, () => '* * @anyvm @anyvm ask'))),
  },
];

/** One run: wall time, and the changed requests printed (JSON lines, counted as they stream by). */
function timed(args, json) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [BIN, 'diff', '--system-info', tree.systemInfo, '--legacy-path', tree.legacy, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    let bytes = 0;
    let err = '';
    child.stdout.on('data', (b) => {
      bytes += b.length;
      for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) lines++;
    });
    child.stderr.on('data', (b) => (err += b));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0 && code !== 1) reject(new Error(`diff ${args.join(' ')} exited ${code}: ${err}`));
      else resolve({ ms, changed: json ? lines : null, bytes });
    });
  });
}

const rules = fs.readdirSync(tree.policy).reduce((n, f) => n + fs.readFileSync(path.join(tree.policy, f), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).length, 0);
console.log(`${QUBES} qubes, ${rules} rules; median wall time of ${RUNS} runs; text and --format json:`);
for (const c of cases) {
  const text = [];
  const json = [];
  for (let i = 0; i < RUNS; i++) {
    text.push(await timed([tree.policy, c.dir], false));
    json.push(await timed(['--format', 'json', tree.policy, c.dir], true));
  }
  const mt = median(text.map((r) => r.ms));
  const mj = median(json.map((r) => r.ms));
  const mb = (json[0].bytes / 1e6).toFixed(1);
  console.log(`  ${c.name.padEnd(58)} ${String(json[0].changed).padStart(9)} changed  text ${(mt / 1000).toFixed(2).padStart(6)} s  json ${(mj / 1000).toFixed(2).padStart(6)} s (${mb} MB)`);
}
if (process.env.BENCH_KEEP !== '1') fs.rmSync(dir, { recursive: true, force: true });
else console.log(`trees kept in ${dir}`);

#!/usr/bin/env node
// `qrexec-policy list` at scale: 200 qubes and 1,000 rules (issue 9). Times
// the questions people ask (what may one qube call, who may reach one qube,
// one service) and the whole table, as real processes (stdout read and
// counted by this process). BENCH_LIST_FULL=0 skips the whole table.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { median } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const QUBES = Number(process.env.BENCH_QUBES ?? 200);
const RULES = Number(process.env.BENCH_RULES ?? 1000);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const BIN = path.join(root, 'dist/bin/qrexec-policy.js');

/**
 * A dom0 like a big real one: templates, disposable templates, sys qubes and
 * app qubes with tags; 60 services whose rules are mostly qube-to-qube, with
 * tag rules, a few arguments, disposables, and each service's defaults last
 * (one in six `@anyvm @anyvm ask`, like Filecopy or OpenInVM, so every
 * caller is offered ~200 targets there).
 */
function makeTree(dir) {
  const domains = { dom0: { type: 'AdminVM', uuid: '00000000-0000-0000-0000-000000000000', power_state: 'Running', default_dispvm: 'dvm-web' } };
  const add = (name, spec) => {
    const n = Object.keys(domains).length;
    domains[name] = { uuid: `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`, guivm: 'dom0', default_dispvm: 'dvm-web', ...spec };
  };
  for (const t of ['fedora-42', 'debian-13', 'whonix-17', 'fedora-42-min']) add(t, { type: 'TemplateVM' });
  add('dvm-web', { type: 'AppVM', template_for_dispvms: true, tags: ['dvm'] });
  add('dvm-office', { type: 'AppVM', template_for_dispvms: true, tags: ['dvm'] });
  add('dvm-mgmt', { type: 'AppVM', template_for_dispvms: true, internal: true });
  for (const s of ['sys-net', 'sys-firewall', 'sys-usb', 'sys-gui']) add(s, { type: 'AppVM', power_state: 'Running', tags: ['sys'] });
  const groups = ['work', 'personal', 'vault', 'untrusted', 'dev', 'finance'];
  const apps = [];
  for (let i = 0; Object.keys(domains).length < QUBES; i++) {
    const g = groups[i % groups.length];
    const name = `${g}-${i}`;
    apps.push(name);
    add(name, { type: 'AppVM', tags: [g], power_state: i % 3 ? 'Halted' : 'Running' });
  }
  const services = Array.from({ length: 60 }, (_, i) => `bench.Service${String(i).padStart(2, '0')}`);
  const lines = [];
  let k = 0;
  const pick = (a) => a[(k = (k * 1103515245 + 12345) >>> 0) % a.length];
  // the defaults: 3 lines per service
  const defaults = services.flatMap((s, i) => [
    `${s} * @anyvm @dispvm allow`,
    i % 6 === 0 ? `${s} * @anyvm @anyvm ask` : `${s} * @tag:${pick(groups)} @tag:${pick(groups)} ask default_target=${pick(apps)}`,
    `${s} * @anyvm @anyvm deny`,
  ]);
  while (lines.length < RULES - defaults.length - 2) {
    const s = pick(services);
    const arg = lines.length % 10 === 0 ? `+arg${lines.length % 3}` : '*';
    const x = lines.length % 20;
    const src = x < 12 ? pick(apps) : x < 17 ? `@tag:${pick(groups)}` : '@anyvm';
    const tgt = x % 5 === 0 ? `@tag:${pick(groups)}` : x % 7 === 0 ? '@default' : pick(apps);
    const act = tgt === '@default' ? `allow target=${pick(apps)}` : x % 3 === 0 ? 'deny' : x % 3 === 1 ? 'allow' : 'ask';
    lines.push(`${s} ${arg} ${src} ${tgt} ${act}`);
  }
  fs.mkdirSync(path.join(dir, 'policy.d'));
  const half = lines.length >> 1;
  fs.writeFileSync(path.join(dir, 'policy.d', '30-user.policy'), lines.slice(0, half).join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'policy.d', '50-config.policy'), lines.slice(half).join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'policy.d', '90-default.policy'), defaults.join('\n') + '\n* * @anyvm @anyvm deny\n* * @anyvm @adminvm deny\n');
  fs.writeFileSync(path.join(dir, 'system-info.json'), JSON.stringify({ domains }));
  return apps;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qplist-'));
const apps = makeTree(dir);
const rules = fs.readdirSync(path.join(dir, 'policy.d')).reduce((n, f) => n + fs.readFileSync(path.join(dir, 'policy.d', f), 'utf8').split('\n').filter(Boolean).length, 0);
const common = ['list', '--path', path.join(dir, 'policy.d'), '--legacy-path', dir, '--system-info', path.join(dir, 'system-info.json')];
const FULL = process.env.BENCH_LIST_FULL !== '0';
const cases = [
  { name: `--source ${apps[7]} (what may it call?)`, args: ['--source', apps[7]] },
  { name: `--target ${apps[2]} (who may reach it?)`, args: ['--target', apps[2]] },
  { name: '--service bench.Service01 (one service, every pair)', args: ['--service', 'bench.Service01'] },
  { name: `--source ${apps[7]} --action allow,ask`, args: ['--source', apps[7], '--action', 'allow,ask'] },
  { name: `--source ${apps[7]} --explain`, args: ['--source', apps[7], '--explain'] },
  { name: `--source ${apps[7]} --format json`, args: ['--source', apps[7], '--format', 'json'] },
  ...(FULL ? [{ name: 'everything (no filter), text', args: [], runs: 1 }] : []),
];

/** One run: wall time, and the rows printed (counted as they stream by). */
function timed(args) {
  return new Promise((resolve, reject) => {
    const json = args.includes('json');
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [BIN, ...common, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let rows = 0;
    let tail = '';
    let err = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s) => {
      const lines = (tail + s).split('\n');
      tail = lines.pop();
      for (const l of lines) if (json ? l.startsWith('{"source"') : l.startsWith('    ') && !l.startsWith('        ')) rows++;
    });
    child.stderr.on('data', (b) => (err += b));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) reject(new Error(`list ${args.join(' ')} exited ${code}: ${err}`));
      else resolve({ ms, rows });
    });
  });
}

console.log(`${QUBES} qubes, ${rules} rules, 60 services; median wall time of ${RUNS} runs (1 for everything):`);
for (const c of cases) {
  const runs = [];
  for (let i = 0; i < (c.runs ?? RUNS); i++) runs.push(await timed(c.args));
  const m = median(runs.map((r) => r.ms));
  const rows = runs[0].rows;
  console.log(`  ${c.name.padEnd(52)} ${String(rows).padStart(9)} rows ${(m / 1000).toFixed(2).padStart(7)} s ${((rows / m) * 1000).toFixed(0).padStart(8)} rows/s`);
}
fs.rmSync(dir, { recursive: true, force: true });

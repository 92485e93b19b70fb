#!/usr/bin/env node
// qrexec-policy-graph on a large system: 200 qubes × 1,000 rules, cold
// process, DOT and JSON, with and without asks. Two generated policies:
// "realistic" (per-service blocks as shipped policy and the config tools
// write them, generated here) and "random" (every column drawn at random by
// gen-policy.mjs: far more allowed calls, so far more output).
// BENCH_QUICK=1: the allow-only runs only; BENCH_KEEP=1 keeps (and names) the trees.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { median } from './lib.mjs';
import { generatePolicy, generateSystem } from './gen-policy.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const QUBES = Number(process.env.BENCH_QUBES ?? 200);
const RULES = Number(process.env.BENCH_RULES ?? 1000);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const GRAPH = path.join(root, 'dist/bin/qrexec-policy-graph.js');

/** Deterministic numbers in [0, 1). */
function rng(seed) {
  let s = seed;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296;
}

const TAGS = ['work', 'personal', 'vault', 'web', 'sys', 'dev', 'finance', 'media'];
const LABELS = ['red', 'orange', 'yellow', 'green', 'gray', 'blue', 'purple', 'black'];

/** dom0, 4 templates, 4 disposable templates, 10 sys qubes, app qubes. */
function system(n, r) {
  const pick = (a) => a[Math.floor(r() * a.length)];
  const hex = (k) => Array.from({ length: k }, () => Math.floor(r() * 16).toString(16)).join('');
  const domains = {
    dom0: { type: 'AdminVM', uuid: '00000000-0000-0000-0000-000000000000', power_state: 'Running', label: 'black', default_dispvm: 'dvm-0' },
  };
  for (let i = 0; Object.keys(domains).length < n; i++) {
    const kind = i < 4 ? 'tpl' : i < 8 ? 'dvm' : i < 18 ? 'sys' : 'app';
    const name = kind === 'tpl' ? `fedora-${i}` : kind === 'dvm' ? `dvm-${i - 4}` : kind === 'sys' ? `sys-${i}` : `app-${i}`;
    domains[name] = {
      type: kind === 'tpl' ? 'TemplateVM' : 'AppVM',
      tags: [pick(TAGS), ...(r() < 0.3 ? [pick(TAGS)] : [])],
      template_for_dispvms: kind === 'dvm',
      default_dispvm: kind === 'tpl' ? null : `dvm-${Math.floor(r() * 4)}`,
      power_state: r() < 0.4 ? 'Running' : 'Halted',
      uuid: `${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)}`,
      label: pick(LABELS),
      guivm: 'dom0',
    };
  }
  return { domains };
}

/** Per-service blocks: a few named allows, tag rules, a disposable rule, an ask or a deny default. */
function realisticPolicy(rules, names, r) {
  const pick = (a) => a[Math.floor(r() * a.length)];
  const lines = [];
  for (let s = 0; lines.length < rules - 2; s++) {
    const svc = `bench.Service${s}`;
    const arg = r() < 0.2 ? `+arg${s % 3}` : '*';
    for (let k = Math.floor(r() * 4); k > 0; k--) lines.push(`${svc}\t${arg}\t${pick(names)}\t${pick(names)}\tallow`);
    if (r() < 0.5) lines.push(`${svc}\t*\t@tag:${pick(TAGS)}\t@tag:${pick(TAGS)}\tallow`);
    if (r() < 0.3) lines.push(`${svc}\t*\t${pick(names)}\t@default\tallow target=${pick(names)}`);
    if (r() < 0.3) lines.push(`${svc}\t*\t@anyvm\t@dispvm\tallow`);
    if (r() < 0.1) lines.push(`${svc}\t*\t@anyvm\t@adminvm\tallow`);
    lines.push(r() < 0.4 ? `${svc}\t*\t@anyvm\t@anyvm\task default_target=${pick(names)}` : `${svc}\t*\t@anyvm\t@anyvm\tdeny`);
  }
  lines.length = rules - 2;
  lines.push('*\t*\t@anyvm\t@anyvm\tdeny', '*\t*\t@anyvm\t@adminvm\tdeny');
  return lines;
}

function writeTree(dir, profile) {
  let si;
  let files;
  if (profile === 'realistic') {
    const r = rng(17);
    si = system(QUBES, r);
    const lines = realisticPolicy(RULES, Object.keys(si.domains).filter((n) => n !== 'dom0'), r);
    const third = Math.ceil(lines.length / 3);
    files = Object.fromEntries([0, 1, 2].map((k) => [`${30 + k * 20}-bench.policy`, lines.slice(k * third, (k + 1) * third).join('\n') + '\n']));
  } else {
    si = generateSystem(QUBES, 1);
    files = generatePolicy(RULES, si, 2);
  }
  const pol = path.join(dir, 'policy.d');
  fs.mkdirSync(pol, { recursive: true });
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(pol, name), text);
  fs.writeFileSync(path.join(dir, 'system-info.json'), JSON.stringify(si));
  return { pol, si: path.join(dir, 'system-info.json') };
}

/** Edges in an output file (which may be larger than a string can hold). */
function countEdges(file, marker) {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(1 << 20);
  let edges = 0;
  let bytes = 0;
  let tail = '';
  for (let n; (n = fs.readSync(fd, buf)) > 0; ) {
    bytes += n;
    const text = tail + buf.toString('latin1', 0, n);
    edges += text.split(marker).length - 1;
    tail = text.slice(-(marker.length - 1));
  }
  fs.closeSync(fd);
  return { edges, bytes };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qpgraph-'));
console.log(`qrexec-policy-graph, ${QUBES} qubes × ${RULES} rules, cold process, median of ${RUNS} runs:`);
for (const profile of ['realistic', 'random']) {
  const tree = writeTree(path.join(dir, profile), profile);
  for (const extra of process.env.BENCH_QUICK ? [[]] : [[], ['--include-ask'], ['--format', 'json', '--include-ask']]) {
    const out = path.join(dir, 'out');
    const args = [GRAPH, '--policy-dir', tree.pol, '--legacy-path', dir, '--system-info', tree.si, '--output', out, ...extra];
    const times = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = process.hrtime.bigint();
      const res = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (res.status !== 0) throw new Error(`graph failed: ${res.stderr}`);
    }
    const { edges, bytes } = countEdges(out, extra.includes('json') ? '"action":"' : ' -> ');
    const label = `${profile} ${extra.join(' ') || '(allow only)'}`;
    console.log(`  ${label.padEnd(40)} ${(median(times) / 1000).toFixed(2).padStart(6)} s  ${String(edges).padStart(8)} edges  ${(bytes / 1e6).toFixed(1)} MB`);
  }
}
if (!process.env.BENCH_KEEP) fs.rmSync(dir, { recursive: true, force: true });
else console.log(dir);

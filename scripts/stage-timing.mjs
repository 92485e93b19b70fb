#!/usr/bin/env node
// `npm run bench:stages`: where a qrexec-policy-exec call's time goes, per
// stage (the `--log-level debug` timing line, src/exec/timing.ts), for
// requests on policy.d-examples: medians of N cold processes per request.
// The 5-argument call starts its target through a fake qubesd (a unix
// socket answering "0\0") and hands off to a qrexec-client that exits at
// once. Prints a Markdown table (bench/README.md, "Per stage").
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.RUNS ?? 21);
const ex = path.join(root, 'policy.d-examples');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qp-stages-'));
const client = path.join(tmp, 'qrexec-client');
fs.writeFileSync(client, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
const qubesdSock = path.join(tmp, 'qubesd.sock');
const qubesd = net.createServer({ allowHalfOpen: true }, (c) => {
  c.on('data', () => {});
  c.on('end', () => c.end(Buffer.from('0\0')));
});
await new Promise((r) => qubesd.listen(qubesdSock, r));

const common = ['--log-level', 'debug', '--stderr', '--path', ex, '--legacy-path', path.join(ex, 'legacy'), '--system-info', path.join(ex, 'system-info.json')];
const env = { PATH: process.env.PATH, QREXEC_RPC_DIR: path.join(tmp, 'no-rpc'), QREXEC_CLIENT: client, QUBESD_SOCKET: qubesdSock };
const cases = [
  ['allow, 3 arguments (`work vault qubes.Gpg`)', ['work', 'vault', 'qubes.Gpg']],
  ['allow to a disposable (`work @dispvm qubes.OpenURL`)', ['work', '@dispvm', 'qubes.OpenURL']],
  ['deny (`work sys-net qubes.ConnectTCP+22`)', ['work', 'sys-net', 'qubes.ConnectTCP+22']],
  ['allow, 5 arguments: target started, qrexec-client run', ['7', 'work', 'vault', 'qubes.Gpg', 'SOCKET1']],
];
const stages = ['system-info', 'load-policy', 'evaluate', 'ask', 'notify', 'start-target', 'qrexec-client', 'other', 'total'];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
for (const [label, args] of cases) {
  const samples = Object.fromEntries(stages.map((s) => [s, []]));
  for (let i = 0; i < N; i++) {
    // not spawnSync: the fake qubesd answers from this process's event loop
    const r = await promisify(execFile)(process.execPath, [path.join(root, 'dist/bin/qrexec-policy-exec.cjs'), ...common, ...args], { encoding: 'utf8', env }).catch((e) => e);
    const line = r.stderr.split('\n').find((l) => l.startsWith('debug: timing: '));
    if (!line) throw new Error(`no timing line for ${args.join(' ')}: ${r.stderr}`);
    for (const m of line.matchAll(/([a-z-]+) ([0-9.]+) ms/g)) samples[m[1]].push(Number(m[2]));
  }
  rows.push(`| ${label} | ${stages.map((s) => median(samples[s]).toFixed(2)).join(' | ')} |`);
}
qubesd.close();
fs.rmSync(tmp, { recursive: true, force: true });
console.log(`| request (medians of ${N} processes, ms) | ${stages.join(' | ')} |`);
console.log(`| --- | ${stages.map(() => '---:').join(' | ')} |`);
for (const r of rows) console.log(r);

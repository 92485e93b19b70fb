#!/usr/bin/env node
// Cold start of the per-call path: `qrexec-policy-exec --just-evaluate` and a
// full five-argument call (admin.vm.Start through a fake qubesd, then a
// qrexec-client that exits at once), next to `node -e 0`, interleaved runs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { median, startFakeQubesd } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 31);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const EXEC = path.join(root, 'dist/bin/qrexec-policy-exec.cjs');
const EX = path.join(root, 'policy.d-examples');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qpbench-'));
const sock = path.join(dir, 'qubesd.sock');
const server = await startFakeQubesd(sock);

// the fake qubesd lives in this process, so child runs must be asynchronous
function timeAsync(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: 'ignore', env: { ...process.env, ...env } });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`));
      else resolve(ms);
    });
  });
}

const common = ['--path', EX, '--legacy-path', path.join(EX, 'legacy'), '--system-info', path.join(EX, 'system-info.json'), '--log-level', 'warn'];
const commands = [
  { name: 'node -e 0', cmd: process.execPath, args: ['-e', '0'] },
  { name: 'qrexec-policy-exec --just-evaluate (3 args)', cmd: process.execPath, args: [EXEC, '--just-evaluate', ...common, 'work', 'personal', 'qubes.Filecopy'] },
  {
    name: 'qrexec-policy-exec full call (5 args, Start + qrexec-client)',
    cmd: process.execPath,
    args: [EXEC, ...common, '--qubesd-socket', sock, '--qrexec-client', '/bin/true', '12', 'work', 'personal', 'qubes.Filecopy', 'SOCKET1'],
  },
];
const times = commands.map(() => []);
for (let i = 0; i < RUNS; i++) for (const [k, c] of commands.entries()) times[k].push(await timeAsync(c.cmd, c.args, {}));
server.close();
fs.rmSync(dir, { recursive: true, force: true });

const base = median(times[0]);
console.log(`cold start, ${RUNS} interleaved runs each (median wall time):`);
for (const [k, c] of commands.entries()) {
  const m = median(times[k]);
  console.log(`  ${c.name.padEnd(62)} ${m.toFixed(1).padStart(7)} ms  ${(m / base).toFixed(2)}x node -e 0`);
}

import { spawn, execSync } from 'node:child_process';
import * as fs from 'node:fs'; import * as os from 'node:os'; import * as path from 'node:path';
import { writeTree } from './gen-policy.mjs';
const EXEC = '/work/main/dist/bin/qrexec-policy-exec.cjs';
const mode = process.argv[2];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qpbench-'));
const trees = Object.fromEntries([10, 10000].map((n) => [n, writeTree(path.join(dir, `r${n}`), { rules: n, qubes: n === 10 ? 20 : 200 })]));
if (mode === 'sync') execSync('sync');
const cmds = [['node -e 0', ['-e', '0']], ...[10, 10000].map((n) => [`${n}`, [EXEC, '--just-evaluate', '--log-level', 'warn', '--path', trees[n].policy, '--legacy-path', trees[n].legacy, '--system-info', trees[n].systemInfo, trees[n].qubeNames[10], trees[n].qubeNames[11], 'bench.Service1']])];
const times = cmds.map(() => []);
for (let i = 0; i < 31; i++) for (const [k, c] of cmds.entries()) { const t0 = process.hrtime.bigint(); await new Promise((res) => spawn(process.execPath, c[1], { stdio: 'ignore' }).on('close', res)); times[k].push(Number(process.hrtime.bigint() - t0) / 1e6); }
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };
console.log(mode, cmds.map((c, k) => `${c[0]} ${(med(times[k]) / med(times[0])).toFixed(3)}`).join('  '));
fs.rmSync(dir, { recursive: true });

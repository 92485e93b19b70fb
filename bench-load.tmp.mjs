import { writeTree } from './bench/gen-policy.mjs';
import * as fs from 'node:fs'; import * as os from 'node:os'; import * as path from 'node:path';
const { loadPolicy } = await import('./dist/lib/parser/loader.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bl-'));
const t = writeTree(dir, { rules: 10000, qubes: 100 });
const policyDir = t?.policyDir ?? path.join(dir, 'policy.d');
const times = [];
for (let i = 0; i < 80; i++) { const s = process.hrtime.bigint(); const r = loadPolicy({ paths: [policyDir] }); times.push(Number(process.hrtime.bigint() - s) / 1e6); if (r.errors.length) throw new Error(r.errors[0].message); if (i===0) console.log('rules', r.rules.length); }
times.sort((a, b) => a - b); console.log('first', times.length, 'median ms', times[40].toFixed(2), 'min', times[0].toFixed(2));
fs.rmSync(dir, { recursive: true });

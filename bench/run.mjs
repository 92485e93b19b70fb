#!/usr/bin/env node
// `npm run bench`: run every bench/*.bench.mjs in name order (each prints its
// own table), then the summary table of issue 17 from the rows they report.
// Pass names to run a subset: `npm run bench -- exec daemon`; pass
// `--reference DIR` (DIR holding Qubes' `qrexec` package, e.g. /work/ref) to
// measure Qubes' own daemon next to ours (or set QREXEC_REFERENCE=DIR).
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summaryTable } from './summary.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const env = { ...process.env };
const only = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--reference') {
    if (argv[i + 1] === undefined) {
      console.error('--reference needs a directory (the one holding the qrexec package)');
      process.exit(2);
    }
    env.QREXEC_REFERENCE = resolve(argv[++i]);
  } else only.push(argv[i]);
}
if (env.QREXEC_REFERENCE && !existsSync(join(env.QREXEC_REFERENCE, 'qrexec'))) {
  console.error(`${env.QREXEC_REFERENCE}: no qrexec package there`);
  process.exit(2);
}
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();
const summaries = mkdtempSync(join(tmpdir(), 'qp-bench-summary-'));
let failed = false;
const reports = {};
for (const f of files) {
  const name = f.replace(/\.bench\.mjs$/, '');
  console.log(`\n## ${name}\n`);
  const summary = join(summaries, `${name}.json`);
  const r = spawnSync(process.execPath, [join(here, f)], { stdio: 'inherit', env: { ...env, BENCH_SUMMARY: summary } });
  if (r.status !== 0) failed = true;
  if (existsSync(summary)) Object.assign(reports, JSON.parse(readFileSync(summary, 'utf8')));
}
rmSync(summaries, { recursive: true, force: true });
const table = summaryTable(reports);
if (table !== null) console.log(`\n## summary (issue 17)\n\n${table}`);
process.exit(failed ? 1 : 0);

#!/usr/bin/env node
// Score the built tool against the reference decisions in ../shared/conformance
// (when that directory exists next to the checkout): eval --batch in one
// process, then every request per process (eval + exec + --just-evaluate).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const runner = process.env.QREXEC_CONFORMANCE ?? '../shared/conformance/run';
if (!existsSync(runner)) {
  console.log(`conformance runner not found at ${runner}; set QREXEC_CONFORMANCE to its path`);
  process.exit(0);
}
const extra = process.argv.slice(2);
const runs = [
  ['--no-exec', '--batch-cmd', 'node dist/bin/qrexec-policy.js eval --json --batch'],
  [
    '--jobs', '4',
    '--cmd-eval', 'node dist/bin/qrexec-policy.js eval --json --path {policy} --legacy-path {legacy} --system-info {si}',
    '--cmd-exec', 'node dist/bin/qrexec-policy-exec.cjs --path {policy} --legacy-path {legacy} --system-info {si}',
  ],
];
let failed = false;
for (const args of extra.includes('--batch-only') ? runs.slice(0, 1) : runs) {
  const r = spawnSync(runner, [...args, ...extra.filter((a) => a !== '--batch-only')], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  process.stdout.write(r.stdout);
  if (r.status !== 0 || !/ 0 failed\s*$/.test(r.stdout)) failed = true;
}
process.exit(failed ? 1 : 0);

/**
 * Our answers for a case, through the code paths the front ends use, in
 * process: `eval --json --batch` (runBatch, which evaluates through
 * evaluate()), and the three-argument `qrexec-policy-exec` (execMain:
 * plain, --assume-yes-for-ask, --just-evaluate), which loads the policy the
 * per-call way (one service's rules built, every line checked). Or the same
 * through real processes of dist/bin, for a sample.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Req } from '../../test/property/gen/request.js';
import { batchInProcess, execArgv, execInProcess, sourceArgv } from '../../test/property/lib/frontends.js';
import type { DiskTree } from '../../test/property/lib/tree.js';
import type { DecisionJson } from '../../src/render/json.js';

export interface ExecOutcome {
  status: number;
  stdout: string;
}

export interface OurAnswer {
  decision: DecisionJson | { unparsable: string };
  exec: ExecOutcome;
  execYes: ExecOutcome;
  justEvaluate: ExecOutcome;
}

/** The requests as `eval --batch` lines, without --assume-yes-for-ask (the decision is the plain one). */
function batchFile(d: DiskTree, reqs: readonly Req[]): string {
  const file = path.join(d.root, 'batch.jsonl');
  const lines = reqs.map((q) => {
    const o: Record<string, unknown> = { source: q.source, target: q.target, service: q.service };
    if (q.requestedSource !== null) o['requested_source'] = q.requestedSource;
    return JSON.stringify(o);
  });
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

function parseDecision(line: string | undefined): OurAnswer['decision'] {
  try {
    return JSON.parse(line ?? '') as DecisionJson;
  } catch {
    return { unparsable: String(line) };
  }
}

const plain = (q: Req): Req => ({ ...q, assumeYes: false });
const yes = (q: Req): Req => ({ ...q, assumeYes: true });

export async function oursInProcess(d: DiskTree, reqs: readonly Req[], legacy: boolean): Promise<OurAnswer[]> {
  const batch = await batchInProcess(d, batchFile(d, reqs), legacy);
  const out: OurAnswer[] = [];
  for (const [i, q] of reqs.entries()) {
    out.push({
      decision: parseDecision(batch.lines[i]),
      exec: await execInProcess(d, plain(q), [], legacy),
      execYes: await execInProcess(d, yes(q), [], legacy),
      justEvaluate: await execInProcess(d, plain(q), ['--just-evaluate'], legacy),
    });
  }
  return out;
}

/**
 * Where the built commands are: the runner's snapshot of dist/bin (so that
 * a rebuild during a long run cannot change what is measured), or the
 * repository's own.
 */
function binDir(): string {
  return process.env['QREXEC_DIFFTEST_BIN'] ?? path.join(process.env['QREXEC_POLICY_ROOT'] ?? process.cwd(), 'dist', 'bin');
}

function run(argv: string[]): Promise<ExecOutcome> {
  return new Promise((resolve, reject) => {
    // no stdin pipe: a child that dies at once must not leave an EPIPE to crash the worker
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => (stdout += s));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ status: code ?? (signal ? 128 : 1), stdout }));
  });
}

/** The same answers from real processes: one `eval --json --batch`, and per request the exec front end. */
export async function oursInProcesses(d: DiskTree, reqs: readonly Req[], legacy: boolean): Promise<OurAnswer[]> {
  const bin = (name: string) => path.join(binDir(), name);
  const batch = await run([bin('qrexec-policy.js'), 'eval', '--json', '--batch', batchFile(d, reqs), ...sourceArgv(d, legacy)]);
  const lines = batch.stdout.replace(/\n$/, '').split('\n');
  const exec = (q: Req, extra: string[] = []) => run([bin('qrexec-policy-exec.cjs'), ...execArgv(d, q, extra, legacy)]);
  const out: OurAnswer[] = [];
  for (const [i, q] of reqs.entries()) {
    out.push({
      decision: parseDecision(lines[i]),
      exec: await exec(plain(q)),
      execYes: await exec(yes(q)),
      justEvaluate: await exec(plain(q), ['--just-evaluate']),
    });
  }
  return out;
}

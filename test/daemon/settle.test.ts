/**
 * Settled reads with the real daemon process (issue 14): its policy is
 * rewritten again and again while clients keep asking, and no answer may
 * come from a policy that never existed as a whole. These are short runs of
 * the soak benchmark (bench/soak.mjs, which explains the canary and how
 * answers are judged), run as it runs: a process of its own, which starts
 * the daemon. Edits are a few milliseconds long with pauses of 60 to 90 ms
 * between them, as the documented writer model asks (pauses inside an edit
 * under QUIET_MS, between edits over it); an edit that a busy machine
 * stretches beyond that is made again and its answers are not held against
 * the daemon (the soak counts them apart). The only timing here is the
 * edits' own.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const SOAK = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'soak.mjs');

// 160 edits of about 85 ms each: more than tap's 30 s default on a busy machine
t.setTimeout(180_000);

interface Row {
  style: string;
  requests: number;
  changes: number;
  outsideModel: number;
  incomplete: number;
  stale: number;
  unanswered: number;
  loadFailuresLogged: number;
}

/** Run the soak with these settings; its rows, and what it printed. */
function soak(env: Record<string, string>): Promise<{ status: number | null; rows: Row[]; out: string }> {
  return new Promise((resolve) => {
    // A benchmark, not project code: tap's process tracking (which measures coverage) is left out
    // of it. tap puts it into every node process a test starts, through NODE_OPTIONS.
    const child = spawn('/bin/sh', ['-c', 'unset NODE_OPTIONS; exec "$0" "$@"', process.execPath, SOAK], {
      env: { ...process.env, SOAK_JSON: '1', SOAK_PAUSE_MS: '60,90', SOAK_GAP_MS: '1', SOAK_CLIENTS: '2', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('close', (status) => {
      const last = out.trim().split('\n').at(-1)!;
      resolve({ status, rows: last.startsWith('[') ? (JSON.parse(last) as Row[]) : [], out });
    });
  });
}

function check(t: Parameters<Parameters<typeof t.test>[1]>[0], run: { status: number | null; rows: Row[]; out: string }, styles: string[], edits: number): void {
  t.comment(run.out);
  t.equal(run.status, 0, 'the soak found nothing wrong');
  t.same(
    run.rows.map((r) => r.style),
    styles,
  );
  for (const r of run.rows) {
    // (an edit the busy machine stretched past the quiet period is made again, not counted)
    t.equal(r.changes, edits, `${r.style}: ${edits} edits (and ${r.outsideModel} outside the writer model)`);
    t.ok(r.requests > 10 * edits, `${r.style}: ${r.requests} requests under way meanwhile`);
    t.equal(r.incomplete, 0, `${r.style}: no answer from an incomplete policy (canary never allowed, probe never denied)`);
    t.equal(r.unanswered, 0, `${r.style}: every request answered`);
    t.equal(r.stale, 0, `${r.style}: no answer from an older policy once the change was 200 ms old`);
    if (r.outsideModel === 0) t.equal(r.loadFailuresLogged, 0, `${r.style}: no half-written state was ever loaded`);
  }
}

t.test('the canary is never allowed while the policy is rewritten in place, replaced by an editor, or its directory recreated', async (t) => {
  const styles = ['in-place', 'backup-replace', 'dir-recreate'];
  check(t, await soak({ SOAK_STYLES: styles.join(','), SOAK_EDITS: '40', SOAK_WORKERS: '1', SOAK_LAYOUT: 'dir' }), styles, 40);
});

t.test('a short soak: renames and link switches, with worker processes', async (t) => {
  const styles = ['atomic', 'symlink'];
  check(t, await soak({ SOAK_STYLES: styles.join(','), SOAK_EDITS: '20', SOAK_WORKERS: '2', SOAK_LAYOUT: 'link' }), styles, 20);
});

/**
 * The reference oracle (difftest/oracle.py) as a long-lived child process:
 * one per worker, fed one case per line over a pipe, answering in order.
 * Where the reference lives is given from outside the repository
 * (QREXEC_REFERENCE, set by difftest/run.mjs from --reference).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';

/** One request as both sides read it. */
export interface OracleRequest {
  source: string;
  target: string;
  service: string;
  requested_source?: string;
}

export interface OracleCase {
  id: number;
  policy: string[];
  legacy: string;
  legacy_mode: boolean;
  system_info: unknown;
  requests: OracleRequest[];
}

export interface RefDecision {
  result: 'allow' | 'deny' | 'ask';
  requested_target: string | null;
  target: string | null;
  targets: string[] | null;
  default_target: string | null;
  user: string | null;
  autostart: boolean | null;
  notify: boolean | null;
  rule: { file: string; line: number | null } | null;
  reason: string;
  /** The reference raised something other than a denial: it crashed. */
  crash: string | null;
}

export interface RefExec {
  block: string | null;
  crash: string | null;
  /** An ask that would go to a GUI agent (nothing to compare). */
  agent?: boolean;
}

export interface RefAnswer {
  decision: RefDecision;
  exec: RefExec;
  exec_yes: RefExec;
  just_evaluate: { exit: number; crash: string | null };
}

export interface RefReply {
  id: number;
  load: null | { kind: 'denied' | 'crash'; message: string };
  answers: RefAnswer[];
}

export class OracleError extends Error {
  override name = 'OracleError';
}

const ORACLE_SCRIPT = 'difftest/oracle.py';

export class Oracle {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending: Array<{ resolve: (r: RefReply) => void; reject: (e: Error) => void }> = [];
  private stderr = '';
  private dead: Error | null = null;

  constructor(reference: string, root: string, python = 'python3') {
    // -X utf8: read policy files as UTF-8 whatever the locale (a dom0 has a UTF-8 one)
    this.child = spawn(python, ['-X', 'utf8', path.join(root, ORACLE_SCRIPT), '--reference', reference], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (s: string) => (this.stderr = (this.stderr + s).slice(-4000)));
    const lines = createInterface({ input: this.child.stdout });
    lines.on('line', (line) => {
      const waiter = this.pending.shift();
      if (waiter === undefined) return;
      let reply: RefReply & { fatal?: string };
      try {
        reply = JSON.parse(line) as RefReply & { fatal?: string };
      } catch {
        waiter.reject(new OracleError(`the oracle printed something that is not JSON: ${line.slice(0, 200)}`));
        return;
      }
      if (reply.fatal !== undefined) waiter.reject(new OracleError(`the oracle failed on a case:\n${reply.fatal}`));
      else waiter.resolve(reply);
    });
    // a dead oracle is reported on the next ask (through 'exit'), not by an unhandled stream error
    this.child.stdin.on('error', () => {});
    this.child.on('exit', (code, signal) => {
      this.dead = new OracleError(`the oracle exited (${signal ?? code}): ${this.stderr.trim() || 'no message'}`);
      for (const w of this.pending.splice(0)) w.reject(this.dead);
    });
    this.child.on('error', (err) => {
      this.dead = new OracleError(`cannot run the oracle with ${python}: ${err.message}`);
      for (const w of this.pending.splice(0)) w.reject(this.dead);
    });
  }

  ask(c: OracleCase): Promise<RefReply> {
    if (this.dead !== null) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.child.stdin.write(JSON.stringify(c) + '\n');
    });
  }

  close(): void {
    this.child.stdin.end();
  }
}

let shared: Oracle | null = null;

/** The worker's oracle, started on first use from QREXEC_REFERENCE. */
export function oracle(): Oracle {
  if (shared === null) {
    const reference = process.env['QREXEC_REFERENCE'];
    if (!reference) throw new OracleError('QREXEC_REFERENCE is not set: give difftest --reference DIR');
    const root = process.env['QREXEC_POLICY_ROOT'] ?? process.cwd();
    shared = new Oracle(reference, root, process.env['QREXEC_PYTHON'] ?? 'python3');
    // the oracle ends with the worker (stdin closes)
    process.on('exit', () => shared?.close());
  }
  return shared;
}

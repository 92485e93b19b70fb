/**
 * Driving every front end for one request: `eval --json --batch`, `eval
 * --json`, the 3-argument `qrexec-policy-exec` and the daemon, in process
 * through their entry functions (runBatch, runEval, execMain, the daemon's
 * answer()), or as real processes of dist/bin. Also the result block an
 * eval decision implies, rebuilt from SPEC §3.3 without src/render.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runEval, type EvalArgs } from '../../../src/eval/cli.js';
import { runBatch } from '../../../src/eval/batch.js';
import type { Io } from '../../../src/io/io.js';
import { execMain } from '../../../src/cli/exec-main.js';
import { daemonConfig } from '../../../src/daemon/config.js';
import { serve } from '../../../src/daemon/serve.js';
import { lineLogger, type Logger } from '../../../src/log.js';
import type { DecisionJson } from '../../../src/render/json.js';
import type { Req } from '../gen/request.js';
import type { DomainJson } from '../gen/system.js';
import { isDom0Spelling } from './oracle.js';
import { fail } from './property.js';
import type { DiskTree } from './tree.js';

/** A logger that keeps what it is told; an "internal error" line is a crash caught by a safety net. */
export function quietLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = lineLogger('warn', [(_level, line) => void lines.push(line)]);
  return Object.assign(log, { lines });
}

export function noInternalErrors(where: string, log: { lines: string[] }): void {
  const bad = log.lines.find((l) => /internal error/i.test(l));
  if (bad !== undefined) fail('crash', `${where}: ${bad}`);
}

/** Captured stdout/stderr of an in-process front end. */
export function captureIo(): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    env: {} as NodeJS.ProcessEnv,
    out: (s: string) => void (io.stdout += s),
    err: (s: string) => void (io.stderr += s),
  };
  return io;
}

/** The batch input line for a request (what `eval --batch` reads). */
export function batchLine(q: Req): string {
  const o: Record<string, unknown> = { source: q.source, target: q.target, service: q.service, assume_yes_for_ask: q.assumeYes };
  if (q.requestedSource !== null) o['requested_source'] = q.requestedSource;
  return JSON.stringify(o);
}

/** Where the generated tree is, as every front end's options (`legacy`: R4.0 semantics, `--legacy`). */
export function sourceArgs(d: DiskTree, legacy = false): { path: string[]; legacyPath: string; systemInfo: string; legacy: boolean } {
  return { path: [d.dirs.policy], legacyPath: d.dirs.legacy, systemInfo: d.si, legacy };
}

/** The same as command-line options. */
export function sourceArgv(d: DiskTree, legacy = false): string[] {
  return ['--path', d.dirs.policy, '--legacy-path', d.dirs.legacy, '--system-info', d.si, ...(legacy ? ['--legacy'] : [])];
}

export function execArgv(d: DiskTree, q: Req, extra: string[] = [], legacy = false, qrexecClient = path.join(d.root, 'no-qrexec-client')): string[] {
  return [
    ...sourceArgv(d, legacy),
    '--rpc-dir', path.join(d.root, 'rpc'), '--qrexec-client', qrexecClient,
    ...(q.assumeYes ? ['--assume-yes-for-ask'] : []),
    ...(q.requestedSource !== null ? ['--requested-source', q.requestedSource] : []),
    ...extra, '--', q.source, q.target, q.service,
  ];
}

export async function batchInProcess(d: DiskTree, file: string, legacy = false): Promise<{ status: number; lines: string[]; stderr: string }> {
  const io = captureIo();
  const status = await runBatch({ ...sourceArgs(d, legacy), batch: file, json: true, logLevel: 'error' }, io);
  return { status, lines: io.stdout === '' ? [] : io.stdout.replace(/\n$/, '').split('\n'), stderr: io.stderr };
}

export async function evalInProcess(d: DiskTree, q: Req, legacy = false): Promise<{ status: number; stdout: string }> {
  const io = captureIo();
  const args: EvalArgs = { ...sourceArgs(d, legacy), source: q.source, target: q.target, service: q.service, json: true, assumeYesForAsk: q.assumeYes, logLevel: 'error' };
  if (q.requestedSource !== null) args.requestedSource = q.requestedSource;
  const status = await runEval(args, io);
  return { status, stdout: io.stdout };
}

/**
 * No policy agent in these runs. A qrexec-client path that spawn refuses
 * outright fails every ask and notification exactly as a missing program
 * does, without starting a process for each one (which cost a third of a
 * differential run's time).
 */
const NO_QREXEC_CLIENT = '/nonexistent/qrexec-client\0';

export async function execInProcess(d: DiskTree, q: Req, extra: string[] = [], legacy = false): Promise<{ status: number; stdout: string }> {
  let stdout = '';
  const log = quietLog();
  const status = await execMain(execArgv(d, q, extra, legacy, NO_QREXEC_CLIENT), { stdout: (s) => void (stdout += s), stderr: () => {}, log, env: {} });
  noInternalErrors('qrexec-policy-exec', log);
  return { status, stdout };
}

/** The daemon's policy-socket frame for a request. */
export function frameFor(q: Req, justEvaluate = false): string {
  const lines = [`source=${q.source}`, `intended_target=${q.target}`, `service_and_arg=${q.service}`, `assume_yes_for_ask=${q.assumeYes ? 'yes' : 'no'}`];
  if (justEvaluate) lines.push('just_evaluate=yes');
  if (q.requestedSource !== null) lines.push(`requested_source=${q.requestedSource}`);
  return lines.join('\n') + '\n\n';
}

/** The daemon serving the tree in this process, on temporary unix sockets. */
export interface LiveDaemon {
  socks: { policy: string; eval: string; gui: string };
  log: { lines: string[] };
  /** Send bytes (in chunks) and read until the daemon closes. */
  exchange(socket: keyof LiveDaemon['socks'], chunks: Buffer[], halfClose?: boolean, timeoutMs?: number): Promise<{ text: string; closed: boolean }>;
  stop(): Promise<void>;
}

export async function startDaemon(d: DiskTree, requestTimeoutS: number): Promise<LiveDaemon> {
  const socks = { policy: path.join(d.root, 'p.sock'), eval: path.join(d.root, 'e.sock'), gui: path.join(d.root, 'g.sock') };
  const cfg = daemonConfig(
    {
      socketPath: socks.policy, evalSocketPath: socks.eval, guiSocketPath: socks.gui, path: [d.dirs.policy], legacyPath: d.dirs.legacy,
      systemInfo: d.si, rpcDir: path.join(d.root, 'rpc'), qrexecClient: path.join(d.root, 'no-qrexec-client'), workers: '1',
      requestTimeout: String(requestTimeoutS),
    },
    {},
  );
  const log = quietLog();
  const running = serve(cfg, log, () => {}, { primary: true });
  try {
    await running.ready;
  } catch (err) {
    fail('crash', `the daemon did not start: ${(err as Error).message}`);
  }
  return {
    socks,
    log,
    exchange: (socket, chunks, halfClose = true, timeoutMs = requestTimeoutS * 1000 + 10_000) => socketExchange(socks[socket], chunks, { halfClose, timeoutMs }),
    stop: async () => {
      running.stop();
      await running.done;
    },
  };
}

/** One frame, whole, to the policy socket: the answer, or '(no answer)'. */
export async function askDaemon(daemon: LiveDaemon, frame: string): Promise<string> {
  const r = await daemon.exchange('policy', [Buffer.from(frame, 'latin1')]);
  if (!r.closed) fail('hang', `the daemon neither answered nor closed for ${JSON.stringify(frame)}`);
  return r.text === '' ? '(no answer)' : r.text;
}

/**
 * The result block an eval decision implies (SPEC §3.3), built from the
 * JSON and the system-info document alone. An ask nobody answered (no
 * agent runs in these tests) is a deny.
 */
export function expectedBlock(j: DecisionJson, domains: Record<string, DomainJson>): string {
  if (j.result !== 'allow') return 'result=deny';
  const byRef = (ref: string): [string, DomainJson] | undefined => {
    if (!ref.startsWith('uuid:')) return Object.hasOwn(domains, ref) ? [ref, domains[ref]!] : undefined;
    return Object.entries(domains).find(([, q]) => q['uuid'] === ref.slice(5));
  };
  const user = j.user || 'DEFAULT';
  const auto = j.autostart ? 'True' : 'False';
  const target = j.target!;
  const tail = [`autostart=${auto}`, `requested_target=${j.requested_target}`];
  const policySource = j.requested_source === undefined ? [] : [`policy_source=${j.requested_source}`];
  if (isDom0Spelling(target)) return [`user=${user}`, 'result=allow', 'target=dom0', ...tail].join('\n');
  if (target.startsWith('@dispvm:')) {
    const [, tpl] = byRef(target.slice(8)) ?? fail('disagreement', `allow to ${target}, which names no qube`);
    return [`user=${user}`, 'result=allow', `target=${target}`, `target_uuid=@dispvm:uuid:${tpl['uuid']}`, ...tail, ...policySource].join('\n');
  }
  const [name, q] = byRef(target) ?? fail('disagreement', `allow to ${target}, which names no qube`);
  if (q['type'] === 'RemoteVM') {
    const relay = domains[q['relayvm'] as string]!;
    return [
      'user=DEFAULT', 'result=allow', `target=${q['relayvm']}`, `target_uuid=uuid:${relay['uuid']}`, ...tail,
      `service=${q['transport_rpc']}+${j.requested_target}+${j.service}${j.argument}`, ...policySource,
    ].join('\n');
  }
  return [`user=${user}`, 'result=allow', `target=${target}`, `target_uuid=uuid:${q['uuid']}`, ...tail, ...policySource].join('\n');
}

// real processes -------------------------------------------------------------

/** The repository (the fuzz runner, which runs a bundle from elsewhere, says where it is). */
const ROOT = process.env['QREXEC_POLICY_ROOT'] ?? fileURLToPath(new URL('../../../', import.meta.url));
/** The commands as package.json installs them (so a change of bundle name follows). */
const bins = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin;
export const BIN = {
  policy: path.join(ROOT, bins['qrexec-policy']!),
  exec: path.join(ROOT, bins['qrexec-policy-exec']!),
  daemon: path.join(ROOT, bins['qrexec-policy-daemon']!),
};

export function binsBuilt(): boolean {
  return Object.values(BIN).every((f) => fs.existsSync(f));
}

export interface ProcResult {
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Run a bundle with node; `timeoutMs` past which it is killed (and the result says so). */
export function runProcess(file: string, args: string[], opts: { stdin?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ProcResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file, ...args], { env: { PATH: process.env['PATH'], QREXEC_POLICY_SYSLOG_SOCKET: '/nonexistent/log', ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.stdin ?? '');
  });
}

/** Send bytes to a unix socket (in chunks, optionally half-closing) and read until the server closes. */
export function socketExchange(sock: string, chunks: Buffer[], opts: { halfClose: boolean; timeoutMs: number }): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      c.destroy();
      resolve({ text: Buffer.concat(got).toString('latin1'), closed });
    };
    const c = net.createConnection(sock, async () => {
      for (const ch of chunks) {
        if (c.destroyed) return;
        c.write(ch);
        if (chunks.length > 1) await new Promise((r) => setImmediate(r));
      }
      if (opts.halfClose && !c.destroyed) c.end();
    });
    const timer = setTimeout(() => finish(false), opts.timeoutMs);
    c.on('data', (b) => got.push(b));
    c.on('error', () => {});
    c.on('close', () => finish(true));
  });
}

/** Wait (polling, bounded) until a unix socket accepts connections. */
export async function waitForSocket(sock: string, timeoutMs: number, alive: () => boolean): Promise<void> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.createConnection(sock, () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    if (!alive()) fail('crash', `the daemon exited before listening on ${sock}`);
    if (performance.now() > end) fail('hang', `the daemon did not listen on ${sock} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

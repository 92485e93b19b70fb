/**
 * The policy agent in the source's GuiVM (SPEC §7): `policy.Ask` asks the
 * user to confirm a call and pick its target, `policy.Notify` tells the user
 * what was decided. In dom0 the agent listens on a local socket service
 * (`RPC_DIR/policy.Ask`); in another GuiVM it is reached with qrexec-client.
 * Requests are JSON; replies are plain ASCII.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import * as net from 'node:net';
import * as path from 'node:path';
import { describeIo } from '../errors.js';
import type { AskDecision } from '../policy/decision.js';
import type { SystemInfo } from '../policy/system-info.js';


export interface AgentConfig {
  /** Directory of local socket services (`policy.Ask`, `policy.Notify`). */
  rpcDir: string;
  qrexecClient: string;
  /** How long to wait for an answer; `0` waits forever (a person may be deciding). */
  askTimeoutMs: number;
  notifyTimeoutMs: number;
}

export class AgentError extends Error {}

/** Largest agent reply we read (an answer is `allow:NAME` or `deny`). */
const MAX_REPLY = 64 * 1024;

function withTimeout<T>(p: Promise<T>, ms: number, what: string, onTimeout: () => void): Promise<T> {
  if (ms <= 0) return p;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(new AgentError(`${what}: no answer within ${ms} ms`));
    }, ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** Call a socket service in dom0: header `SERVICE dom0 name dom0\0`, JSON, EOF; read the reply. */
function callLocal(service: string, params: unknown, cfg: AgentConfig, timeoutMs: number): Promise<string> {
  const sock = net.createConnection(path.join(cfg.rpcDir, service));
  const p = new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    sock.on('connect', () => {
      sock.write(`${service} dom0 name dom0\0`);
      sock.end(JSON.stringify(params));
    });
    sock.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_REPLY) {
        sock.destroy();
        reject(new AgentError(`${service}: reply too large`));
      } else chunks.push(b);
    });
    // socket errors carry an errno code (ENOENT, ECONNREFUSED, …)
    sock.on('error', (e: NodeJS.ErrnoException) => reject(new AgentError(`${service}: ${describeIo(e)}`)));
    sock.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
  return withTimeout(p, timeoutMs, service, () => sock.destroy());
}

/** Call a socket service in another qube through qrexec-client; the JSON goes on stdin. */
function callRemote(guivm: string, service: string, params: unknown, cfg: AgentConfig, timeoutMs: number): Promise<string> {
  let child: ChildProcessByStdio<Writable, Readable, null>;
  try {
    child = spawn(cfg.qrexecClient, ['-d', guivm, '--', `DEFAULT:QUBESRPC ${service} dom0`], {
      stdio: ['pipe', 'pipe', 'ignore'],
      shell: false,
    });
  } catch (err) {
    // an argument spawn refuses outright (a NUL in a GuiVM name from system info)
    return Promise.reject(new AgentError(`${service} in ${JSON.stringify(guivm)}: cannot run ${cfg.qrexecClient}: ${describeIo(err)}`));
  }
  const p = new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    child.stdout.on('data', (b: Buffer) => {
      size += b.length;
      if (size <= MAX_REPLY) chunks.push(b);
      else {
        reject(new AgentError(`${service}: reply too large`));
        child.kill();
      }
    });
    // spawn errors carry an errno code (ENOENT, EACCES, …)
    child.on('error', (e: NodeJS.ErrnoException) => reject(new AgentError(`${service} via ${cfg.qrexecClient}: ${describeIo(e)}`)));
    child.on('close', (code, signal) => {
      if (code !== 0) reject(new AgentError(`${service} in ${guivm}: qrexec-client ${code === null ? `killed by ${signal}` : `exited with status ${code}`}`));
      else resolve(Buffer.concat(chunks).toString('latin1'));
    });
    /* c8 ignore next 3 -- the other side may close early; its exit status tells */
    child.stdin.on('error', () => {
      /* ignored */
    });
    child.stdin.end(JSON.stringify(params));
  });
  return withTimeout(p, timeoutMs, service, () => child.kill());
}

function callAgent(guivm: string, service: string, params: unknown, cfg: AgentConfig, timeoutMs: number): Promise<string> {
  return guivm === 'dom0' ? callLocal(service, params, cfg, timeoutMs) : callRemote(guivm, service, params, cfg, timeoutMs);
}

/**
 * Icons for the ask dialog: every qube's icon, and for each disposable
 * template `@dispvm:X` its icon with `app` replaced by `disp`.
 */
export function askIcons(si: SystemInfo): Record<string, string> {
  const icons: Record<string, string> = {};
  for (const q of si.qubes.values()) icons[q.name] = q.icon;
  for (const q of si.qubes.values()) if (q.templateForDispvms) icons['@dispvm:' + q.name] = q.icon.replaceAll('app', 'disp');
  return icons;
}

export type AskAnswer = { kind: 'allow'; target: string } | { kind: 'deny' } | { kind: 'invalid'; reply: string };

/** Ask the user in `guivm` about an ask decision; the answer is not yet checked against the targets. */
export async function askUser(guivm: string, d: AskDecision, si: SystemInfo, cfg: AgentConfig): Promise<AskAnswer> {
  const params = {
    source: d.source,
    service: d.service,
    argument: d.argument,
    targets: d.targets,
    default_target: d.defaultTarget ?? '',
    icons: askIcons(si),
  };
  const reply = await callAgent(guivm, 'policy.Ask', params, cfg, cfg.askTimeoutMs);
  if (reply === 'deny') return { kind: 'deny' };
  if (reply.startsWith('allow:')) return { kind: 'allow', target: reply.slice(6) };
  return { kind: 'invalid', reply };
}

export interface NotifyParams {
  resolution: 'allow' | 'deny';
  service: string;
  argument: string;
  source: string;
  target: string;
}

/** Tell the user about a decision; failures are the caller's to log, never to act on. */
export async function notifyUser(guivm: string, params: NotifyParams, cfg: AgentConfig): Promise<void> {
  await callAgent(guivm, 'policy.Notify', params, cfg, cfg.notifyTimeoutMs);
}

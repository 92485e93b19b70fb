/**
 * A client of the Policy Admin API: through `qrexec-client-vm` from a qube
 * (as Qubes' PolicyClient does), or, in dom0, by serving the call in this
 * process with the same code qubes-policy-admin runs. Either way a call
 * ends in a reply, a refusal (the PolicyAdminException class the service
 * named) or a CallFailed.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { PolicyAdminException, WIRE_CLASSES } from './errors.js';
import { adminContext, adminLogger, serveCall, type CallResult } from './call.js';
import type { Area } from './names.js';
import { describeIo } from '../errors.js';

export const DEFAULT_QREXEC_CLIENT_VM = '/usr/bin/qrexec-client-vm';

/** The call could not be made, or failed without a refusal (qrexec denied it, the service crashed). */
export class CallFailed extends Error {}

/** A call that went wrong in an expected way; anything else is a bug and is thrown on. */
export function callProblem(err: unknown): PolicyAdminException | CallFailed {
  if (err instanceof PolicyAdminException || err instanceof CallFailed) return err;
  throw err;
}

/** `message (ClassName)` for a refusal, the message for a failed call. */
export function describeProblem(e: PolicyAdminException | CallFailed): string {
  return e instanceof PolicyAdminException ? `${e.message} (${e.wireName})` : e.message;
}

export interface Transport {
  /** `qube` (through qrexec, the policy decides) or `dom0` (served here). */
  readonly where: 'qube' | 'dom0';
  call(fullName: string, payload: Uint8Array): Promise<CallResult>;
}

/** `qrexec-client-vm -- dom0 SERVICE+ARG`, payload on stdin. */
export function viaQrexecClientVm(program: string, env: NodeJS.ProcessEnv = process.env): Transport {
  return {
    where: 'qube',
    call: (fullName, payload) =>
      new Promise((resolve, reject) => {
        const child = spawn(program, ['--', 'dom0', fullName], { stdio: ['pipe', 'pipe', 'pipe'], env });
        const out: Buffer[] = [];
        let err = '';
        child.stdout.on('data', (b: Buffer) => out.push(b));
        child.stderr.on('data', (b: Buffer) => (err += b.toString()));
        child.on('error', (e: NodeJS.ErrnoException) => reject(new CallFailed(`cannot run ${program}: ${describeIo(e)}`)));
        child.on('close', (code, signal) => resolve({ status: code ?? 128, stdout: Buffer.concat(out), stderr: signal ? `${program} killed by ${signal}` : err }));
        // a service that exits before reading everything closes the pipe: its answer says why
        child.stdin.on('error', () => {});
        child.stdin.end(payload);
      }),
  };
}

/** In dom0: the service itself, on QREXEC_POLICY_DIR, logged as called by dom0. */
export function inDom0(env: NodeJS.ProcessEnv): Transport {
  return {
    where: 'dom0',
    call: (fullName, payload) => {
      const { log, file } = adminLogger(env);
      return serveCall(adminContext(env), fullName, 'dom0', payload, log, file);
    },
  };
}

/**
 * `--qrexec-client-vm PATH` or QREXEC_CLIENT_VM: from a qube through that
 * program; otherwise through /usr/bin/qrexec-client-vm when it exists (a
 * qube), else directly (dom0).
 */
export function chooseTransport(option: string | undefined, env: NodeJS.ProcessEnv, exists: (p: string) => boolean = fs.existsSync): Transport {
  const program = option ?? (env['QREXEC_CLIENT_VM'] || undefined);
  if (program !== undefined) return viaQrexecClientVm(program, env);
  return exists(DEFAULT_QREXEC_CLIENT_VM) ? viaQrexecClientVm(DEFAULT_QREXEC_CLIENT_VM, env) : inDom0(env);
}

export function serviceName(area: Area, method: string, arg?: string): string {
  return `policy.${area === 'include' ? 'include.' : ''}${method}${arg === undefined ? '' : '+' + arg}`;
}

export class PolicyClient {
  constructor(readonly transport: Transport) {}

  /** The reply of a call, or the refusal it got as its PolicyAdminException class. */
  async call(fullName: string, payload: Uint8Array = new Uint8Array(0)): Promise<Buffer> {
    const r = await this.transport.call(fullName, payload);
    if (r.status === 0) return Buffer.from(r.stdout);
    const space = r.stderr.indexOf(' ');
    const word = space < 0 ? r.stderr : r.stderr.slice(0, space);
    const cls = Object.hasOwn(WIRE_CLASSES, word) ? WIRE_CLASSES[word]! : undefined;
    if (cls !== undefined) throw new cls(r.stderr.slice(word.length + 1).trimEnd());
    const why = r.stderr.trim().replace(/\s*\n\s*/g, ' ');
    throw new CallFailed(`${fullName} failed (exit status ${r.status})${why ? `: ${why}` : ''}`);
  }

  async list(area: Area): Promise<string[]> {
    const text = (await this.call(serviceName(area, 'List'))).toString('utf8');
    return text.split('\n').filter((l) => l !== '');
  }

  /** The content and the token to change it with; null when the file does not exist. */
  async get(area: Area, name: string): Promise<{ token: string; content: Buffer } | null> {
    let reply: Buffer;
    try {
      reply = await this.call(serviceName(area, 'Get', name));
    } catch (err) {
      if (err instanceof PolicyAdminException && err.wireName === 'PolicyAdminFileNotFoundException') return null;
      throw err;
    }
    const nl = reply.indexOf(0x0a);
    if (nl < 0) throw new CallFailed(`${serviceName(area, 'Get', name)}: the reply has no token line`);
    return { token: reply.subarray(0, nl).toString('latin1'), content: reply.subarray(nl + 1) };
  }

  async replace(area: Area, name: string, content: Uint8Array, token: string): Promise<void> {
    await this.call(serviceName(area, 'Replace', name), Buffer.concat([Buffer.from(token + '\n'), content]));
  }

  async remove(area: Area, name: string, token: string): Promise<void> {
    await this.call(serviceName(area, 'Remove', name), Buffer.from(token));
  }
}

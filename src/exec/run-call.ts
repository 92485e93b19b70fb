/**
 * What happens after the policy decided (SPEC §7): ask the user through the
 * policy agent, send notifications, start or create the target through
 * qubesd and hand the call to qrexec-client. Every external path is
 * configurable so tests run this against a fake qubesd and a fake
 * qrexec-client.
 */
import { describeIo, expected } from '../errors.js';
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import { confirmAsk, deny } from '../policy/evaluate.js';
import { notificationDue, type AllowDecision, type AskDecision, type Decision } from '../policy/decision.js';
import type { RequestInput } from '../policy/request.js';
import { ruleWhere } from '../parser/rule.js';
import type { SystemInfo } from '../policy/system-info.js';
import type { Logger } from '../log.js';
import { AgentError, askUser, notifyUser, type AgentConfig } from './agent.js';
import { qubesdCall, QubesdError } from './qubesd.js';
import { relayedService } from '../policy/block-lines.js';
import type { CallTiming } from './timing.js';
import { SETTLED } from './decide-call.js';

export interface ExecConfig extends AgentConfig {
  /** qubesd socket for admin.* calls. */
  qubesdSocket: string;
  /** Timeout for admin.vm.Start and admin.vm.CreateDisposable (starting a qube takes a while). */
  qubesdTimeoutMs: number;
}

/** The GuiVM whose agent speaks for the caller, if the caller has one. */
function guivmOf(source: string, si: SystemInfo): string | null {
  return si.lookup(source)?.guivm ?? null;
}

/**
 * Turn an `ask` into allow or deny by asking the user in the source's GuiVM.
 * No GuiVM, an unreachable agent, `deny`, an answer that is not one of the
 * offered targets, or anything else → deny.
 */
export async function resolveAsk(
  d: AskDecision,
  input: RequestInput,
  si: SystemInfo,
  cfg: AgentConfig,
  log: Logger,
): Promise<Decision> {
  const guivm = guivmOf(input.source, si);
  if (guivm === null) {
    log.log('error', `${input.service} not allowed from ${input.source}: the resolution was "ask", but the source has no GuiVM`);
    return deny(d, 'no-target', 'ask: the source has no GuiVM to ask in', d.notify);
  }
  let answer;
  try {
    answer = await askUser(guivm, d, si, cfg);
  } catch (err) {
    expected(err, AgentError);
    log.log('error', `cannot ask the policy agent in ${guivm}: ${err.message}`);
    return deny(d, 'fault', `ask: policy agent in ${guivm} unavailable (${err.message})`, true);
  }
  // an ask always comes from a rule
  if (answer.kind === 'deny') return deny(d, 'rule', `denied by the user ${ruleWhere(d.rule!)}`, d.notify);
  if (answer.kind === 'invalid') {
    log.log('error', `invalid ask response for ${input.service}: ${JSON.stringify(answer.reply.slice(0, 100))}`);
    return deny(d, 'fault', 'invalid response from the policy agent', true);
  }
  return confirmAsk(d, answer.target, si, input);
}

/**
 * Send policy.Notify for a decision that asks for it; never fails the call.
 * Most decisions notify nobody: they get a settled promise, without an
 * async call (the daemon answers thousands a second).
 */
export function notifyDecision(d: Decision, input: RequestInput, si: SystemInfo, cfg: AgentConfig, log: Logger): Promise<void> {
  return notificationDue(d) ? sendNotification(d, input, si, cfg, log) : SETTLED;
}

async function sendNotification(d: Decision, input: RequestInput, si: SystemInfo, cfg: AgentConfig, log: Logger): Promise<void> {
  const guivm = guivmOf(input.source, si);
  if (guivm === null) return;
  const { service, argument } = d;
  /* c8 ignore next -- decisions that reach here always name their service */
  if (service === null || argument === null) return;
  const params =
    d.result === 'allow'
      ? { resolution: 'allow' as const, service, argument, source: input.source, target: d.target }
      : { resolution: 'deny' as const, service, argument, source: input.source, target: input.target };
  try {
    await notifyUser(guivm, params, cfg);
  } catch (err) {
    expected(err, AgentError);
    log.log('error', `error calling qrexec-policy-agent in ${guivm}: ${err.message}`);
  }
}

export interface CallIdentity {
  domainId: string;
  processIdent: string;
  /** The caller as qrexec-daemon named it. */
  source: string;
  /** `SERVICE[+ARG]` as requested (used verbatim in the QUBESRPC command). */
  serviceArg: string;
}

/** The qrexec-client command line for an allowed call (after any disposable was created). */
export function qrexecClientArgs(d: AllowDecision, call: CallIdentity, newDispvm: string | null): string[] {
  const connect = ['-c', `${call.processIdent},${call.source},${call.domainId}`, '--'];
  const user = d.user || 'DEFAULT';
  const dest = d.destination;
  switch (dest.kind) {
    case 'dom0': {
      // dom0 services learn how the caller named the target: `keyword adminvm` or `name dom0`
      // an allowed request always has a normalised target
      const t = d.requestedTarget!;
      const [type, name] = t.startsWith('@') ? ['keyword', t.slice(1)] : ['name', t];
      return ['-Ed', 'dom0', ...connect, `QUBESRPC ${call.serviceArg} ${call.source} ${type} ${name}`];
    }
    case 'qube':
      return ['-Ed', `uuid:${dest.qube.uuid}`, ...connect, `${user}:QUBESRPC ${call.serviceArg} ${call.source}`];
    case 'dispvm':
      return ['-EWkd', newDispvm!, ...connect, `${user}:QUBESRPC ${call.serviceArg} ${call.source}`];
    case 'remote':
      return [
        '-Ed',
        `uuid:${dest.relay.uuid}`,
        ...connect,
        `DEFAULT:QUBESRPC ${relayedService(d, dest)} ${call.source}`,
      ];
  }
}

/** qubesd calls "already running" a failure of Start; for us it is the goal reached. */
function alreadyRunning(err: QubesdError): boolean {
  return err.excType !== null && /NotHalted|AlreadyRunning/.test(err.excType);
}

async function startQube(dest: string, cfg: ExecConfig): Promise<void> {
  try {
    await qubesdCall({ socket: cfg.qubesdSocket, method: 'admin.vm.Start', dest, timeoutMs: cfg.qubesdTimeoutMs });
  } catch (err) {
    if (err instanceof QubesdError && alreadyRunning(err)) return;
    throw err;
  }
}

/** A disposable's name as qubesd returns it: `uuid:…` or a qube name; nothing else is trusted. */
const DISPVM_REPLY = /^(uuid:[0-9A-Fa-f-]{1,64}|[A-Za-z0-9][A-Za-z0-9_.-]{0,62})$/;

/** Spawn qrexec-client without a shell; resolves to its exit status. */
export function runQrexecClient(binary: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: 'inherit', shell: false });
    child.on('error', (e: NodeJS.ErrnoException) => reject(new Error(`cannot run ${binary}: ${describeIo(e)}`)));
    // killed by a signal: the shell convention, 128 + its number
    child.on('close', (code, signal) => resolve(code ?? 128 + os.constants.signals[signal!]));
  });
}

/**
 * Carry out an allowed call: start the target (or create and start a
 * disposable), then run qrexec-client. Returns the exit status: qrexec-
 * client's, or non-zero when anything before it failed (logged).
 */
export async function runAllowedCall(d: AllowDecision, call: CallIdentity, cfg: ExecConfig, log: Logger, timing?: CallTiming): Promise<number> {
  const dest = d.destination;
  let newDispvm: string | null = null;
  try {
    if (dest.kind === 'dispvm') {
      const reply = await qubesdCall({
        socket: cfg.qubesdSocket,
        method: 'admin.vm.CreateDisposable',
        dest: `@dispvm:uuid:${dest.template.uuid}`,
        payload: 'uuid',
        timeoutMs: cfg.qubesdTimeoutMs,
      });
      const name = reply.toString('latin1').trim();
      if (!DISPVM_REPLY.test(name)) throw new QubesdError(`qubesd returned an unusable disposable name ${JSON.stringify(name.slice(0, 100))}`, null);
      newDispvm = name;
      await startQube(name, cfg);
    } else if (dest.kind === 'qube' && d.autostart) {
      await startQube(`uuid:${dest.qube.uuid}`, cfg);
    } else if (dest.kind === 'remote' && d.autostart) {
      await startQube(`uuid:${dest.relay.uuid}`, cfg);
    }
  } catch (err) {
    expected(err, QubesdError);
    log.log('error', `qrexec: ${call.serviceArg}: ${call.source} -> ${d.target}: cannot start the target: ${err.message}`);
    return 1;
  }
  timing?.mark('start-target');
  const args = qrexecClientArgs(d, call, newDispvm);
  log.log('debug', `running ${cfg.qrexecClient} ${args.map((a) => JSON.stringify(a)).join(' ')}`);
  let status: number;
  try {
    status = await runQrexecClient(cfg.qrexecClient, args);
  } catch (err) {
    log.log('error', (err as Error).message);
    status = 1;
  }
  timing?.mark('qrexec-client');
  return status;
}

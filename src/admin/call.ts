/**
 * One Policy Admin API call, start to end, without touching the process:
 * its context (directories from the environment), its log line, and the
 * reply, refusal or internal error. The service (admin-cli.ts), the
 * `qubes-policy` client in dom0, the editor and restore share it.
 */
import * as fs from 'node:fs';
import { DEFAULT_LEGACY_PATH } from '../parser/loader.js';
import { MAX_FILE_SIZE } from '../parser/limits.js';
import { fileSink, lineLogger, type Logger, type Sink } from '../log.js';
import { PolicyAdminException, PolicyAdminProtocolException } from './errors.js';
import { handleCall, type AdminContext } from './services.js';
import { LockError } from './lock.js';
import { groupId, POLICY_GROUP } from './write.js';

export const DEFAULT_POLICY_DIR = '/etc/qubes/policy.d';
export const DEFAULT_ADMIN_LOG = '/var/log/qubes/policy-admin.log';
/** A token line and the largest policy file the loader reads. */
export const MAX_PAYLOAD = MAX_FILE_SIZE + 1024;

/**
 * A logger for one call: appends to the log file; a line the file does not
 * take goes to `fallback` (default: stderr, with its time).
 */
export function adminLogger(env: NodeJS.ProcessEnv, fallback?: Sink): { log: Logger; file: string } {
  const file = env['QREXEC_POLICY_ADMIN_LOG'] || DEFAULT_ADMIN_LOG;
  const toFile = fileSink(file);
  const sink: Sink =
    fallback === undefined
      ? toFile
      : (level, line) => {
          try {
            fs.appendFileSync(file, `${new Date().toISOString()} ${line}\n`);
          } catch {
            fallback(level, line);
          }
        };
  return { log: lineLogger('info', [sink]), file };
}

export function adminContext(env: NodeJS.ProcessEnv, extra: Partial<AdminContext> = {}): AdminContext {
  return {
    policyDir: env['QREXEC_POLICY_DIR'] || DEFAULT_POLICY_DIR,
    legacyDir: env['QREXEC_POLICY_LEGACY_DIR'] || DEFAULT_LEGACY_PATH,
    env,
    gid: groupId(POLICY_GROUP),
    ...extra,
  };
}

export interface CallResult {
  status: number;
  stdout: Uint8Array;
  stderr: string;
}

/**
 * One call, start to end, without touching the process: the reply, the
 * refusal or the internal error, and its log line. The `qubes-policy`
 * client in dom0 calls this directly.
 */
export async function serveCall(ctx: AdminContext, fullName: string, caller: string, payload: Uint8Array | null, log: Logger, logFile: string): Promise<CallResult> {
  const who = `${fullName} (${caller})`;
  try {
    if (payload === null) throw new PolicyAdminProtocolException(`the payload is larger than ${MAX_PAYLOAD} bytes`);
    const reply = await handleCall(ctx, fullName, payload);
    log.log('info', `${who}: ${reply.did}`);
    return { status: 0, stdout: reply.out, stderr: '' };
  } catch (err) {
    if (err instanceof PolicyAdminException) {
      const line = `${err.wireName} ${err.message}`;
      log.log('warn', `${who}: refused: ${line}`);
      return { status: 1, stdout: new Uint8Array(0), stderr: line };
    }
    const what = err instanceof Error ? err.message : String(err);
    log.log('error', `${who}: internal error: ${what}`);
    if (err instanceof Error && err.stack && ctx.env['QREXEC_POLICY_DEBUG']) log.log('error', err.stack);
    // the calling qube learns that it failed, not how (paths, errno): that is in dom0's log
    const hint = err instanceof LockError ? 'the policy directory is busy or cannot be locked' : 'internal error';
    return { status: 2, stdout: new Uint8Array(0), stderr: `${hint}; see ${logFile} in dom0` };
  }
}


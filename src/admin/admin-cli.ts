/**
 * `qubes-policy-admin`: the Policy Admin API service, run by qrexec once per
 * call (drop-in for Qubes' tool of that name). The call comes in the
 * environment and on stdin; the reply goes to stdout; a refusal is one
 * line `ClassName message` on stderr with exit 1; anything unexpected is
 * exit 2, with the details in the log (never sent to the calling qube).
 * One log line per call, through the project's logger.
 */
import * as fs from 'node:fs';
import { DEFAULT_LEGACY_PATH } from '../parser/loader.js';
import { VERSION } from '../version.js';
import { SERVICES } from './services.js';
import { adminContext, adminLogger, DEFAULT_ADMIN_LOG, DEFAULT_POLICY_DIR, MAX_PAYLOAD, serveCall } from './call.js';

export interface AdminIo {
  /** Reads the payload: at most `limit` bytes (more means: too large). */
  readStdin(limit: number): Uint8Array;
  out(data: Uint8Array): void;
  err(s: string): void;
}

export const HELP = `usage: qubes-policy-admin

The Qubes Policy Admin API service (and policy.Eval), run by qrexec once per
call: /etc/qubes-rpc/policy.List, policy.Get, policy.Replace, policy.Remove,
policy.GetFiles, policy.include.List, policy.include.Get,
policy.include.Replace, policy.include.Remove and policy.Eval are links to it.

The call comes in the environment:
  QREXEC_SERVICE_FULL_NAME  the service and argument (policy.Replace+30-user)
  QREXEC_REMOTE_DOMAIN      the calling qube (for the log)
  QREXEC_POLICY_DIR         the policy directory (default ${DEFAULT_POLICY_DIR})
  QREXEC_POLICY_LEGACY_DIR  where !compat-4.0 reads (default ${DEFAULT_LEGACY_PATH})
  QREXEC_POLICY_ADMIN_LOG   the log file (default ${DEFAULT_ADMIN_LOG})
  QREXEC_POLICY_SYSTEM_INFO system info for policy.Eval (default: ask qubesd)
The payload is read from stdin, the reply written to stdout.

A change is written only if the whole policy still loads with it, atomically
and durably, under an exclusive lock on the policy directory.

examples:
  QREXEC_SERVICE_FULL_NAME=policy.List qubes-policy-admin
                            the policy files, as a policy.List call gets them
  echo 'work vault qubes.Gpg' | qrexec-client-vm dom0 policy.Eval
                            from a qube: the decision and the rule for a call

exit status: 0 done, 1 refused (ClassName message on stderr), 2 internal error
`;

/**
 * Test hook (docs/admin.md): `before-rename` stops this process between
 * the durable write of the temporary file and the rename, so that a test
 * can kill it there; `error-before-rename` fails there instead.
 */
function failpoint(env: NodeJS.ProcessEnv, io: AdminIo): (() => void) | undefined {
  switch (env['QREXEC_POLICY_ADMIN_FAILPOINT']) {
    /* c8 ignore next 5 -- stops this process: process.test.ts runs it in a child and kills it there */
    case 'before-rename':
      return () => {
        io.err('failpoint before-rename\n');
        process.kill(process.pid, 'SIGSTOP');
      };
    case 'error-before-rename':
      return () => {
        throw new Error('failpoint error-before-rename');
      };
    default:
      return undefined;
  }
}

export async function adminMain(argv: readonly string[], env: NodeJS.ProcessEnv, io: AdminIo): Promise<number> {
  if (argv.length) {
    if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) {
      io.out(Buffer.from(HELP));
      return 0;
    }
    if (argv.length === 1 && argv[0] === '--version') {
      io.out(Buffer.from(VERSION + '\n'));
      return 0;
    }
    io.err(`qubes-policy-admin: unexpected argument ${JSON.stringify(argv[0])}: the call comes in the environment (see --help)\n`);
    return 2;
  }
  const fullName = env['QREXEC_SERVICE_FULL_NAME'];
  if (!fullName) {
    io.err(`qubes-policy-admin: QREXEC_SERVICE_FULL_NAME is not set: qrexec runs this for ${SERVICES.join(', ')} (see --help)\n`);
    return 2;
  }
  // stderr is the refusal channel, whose first word clients read: a log line
  // the log file does not take (a dom0 without /var/log/qubes) comes after the reply
  const unlogged: string[] = [];
  const { log, file } = adminLogger(env, (_level, line) => void unlogged.push(line));
  const bytes = io.readStdin(MAX_PAYLOAD + 1);
  const ctx = adminContext(env, { beforeRename: failpoint(env, io) });
  const r = await serveCall(ctx, fullName, env['QREXEC_REMOTE_DOMAIN'] || '(unknown caller)', bytes.length > MAX_PAYLOAD ? null : bytes, log, file);
  if (r.stdout.length) io.out(r.stdout);
  // no line end: Qubes' client takes everything after the class name as the message
  if (r.stderr) io.err(r.stderr);
  if (unlogged.length) io.err(`${r.stderr ? '\n' : ''}qubes-policy-admin: cannot write ${file}; the log line was: ${unlogged.join('; ')}\n`);
  return r.status;
}

/** Read at most `limit` bytes from a descriptor (stdin: 0) to its end. */
export function readFd(fd: number, limit: number): Uint8Array {
  const chunks: Buffer[] = [];
  let total = 0;
  const buf = Buffer.alloc(1 << 16);
  while (total < limit) {
    let n: number;
    try {
      n = fs.readSync(fd, buf, 0, Math.min(buf.length, limit - total), null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // no stdin at all (closed by the caller): an empty payload
      if (code === 'EBADF') break;
      /* c8 ignore next 4 -- only a non-blocking stdin (not a pipe or file qrexec gives) has nothing yet */
      if (code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      throw err;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
    total += n;
  }
  return Buffer.concat(chunks);
}

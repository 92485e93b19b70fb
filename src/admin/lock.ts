/**
 * An exclusive flock(2) on the policy directory itself, as Qubes' own
 * policy admin takes it (so our writers and Qubes' exclude each other), and
 * no lock file is ever created.
 *
 * Node.js has no flock. Rather than a native module, the lock is taken by
 * util-linux flock(1) on *our* descriptor: we open the directory, hand the
 * descriptor to `flock --exclusive 3` as its fd 3, and flock(1) locks it
 * and exits. A flock belongs to the open file description, which the child
 * shared with us, so the lock stays held by our descriptor after flock(1)
 * is gone, and ends when we close it, or when the kernel closes it because
 * this process died (a killed writer never leaves the directory locked).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { describeIo } from '../errors.js';

export class LockError extends Error {}

export interface LockOptions {
  /** Give up after this many seconds (default 30). */
  timeoutSeconds?: number;
  /** The flock(1) program (default: `flock` from PATH). */
  flock?: string;
  /** The environment flock(1) runs in (its PATH); default this process's. */
  env?: NodeJS.ProcessEnv;
}

/** flock(1) exits with this when the wait timed out (--conflict-exit-code). */
const CONFLICT = 75;

function acquire(fd: number, dir: string, opts: LockOptions): Promise<void> {
  const timeout = opts.timeoutSeconds ?? 30;
  const program = opts.flock ?? 'flock';
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['--exclusive', '--timeout', String(timeout), '--conflict-exit-code', String(CONFLICT), '3'], {
      stdio: ['ignore', 'ignore', 'pipe', fd],
      env: opts.env ?? process.env,
    });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', (err: NodeJS.ErrnoException) => reject(new LockError(`cannot lock ${dir}: cannot run ${program} (${describeIo(err)})`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else if (code === CONFLICT) reject(new LockError(`cannot lock ${dir}: another change held it for ${timeout} s`));
      else reject(new LockError(`cannot lock ${dir}: flock ${signal ?? `exited ${code}`}: ${stderr.trim()}`));
    });
  });
}

/** Run `fn` holding an exclusive lock on `dir`; released when `fn` settles. */
export async function withDirLock<T>(dir: string, fn: () => T | Promise<T>, opts: LockOptions = {}): Promise<T> {
  let fd: number;
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } catch (err) {
    throw new LockError(`cannot lock ${dir}: ${describeIo(err)}`);
  }
  try {
    await acquire(fd, dir, opts);
    return await fn();
  } finally {
    // the last descriptor of the open file description: this releases the lock
    fs.closeSync(fd);
  }
}

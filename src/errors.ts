/**
 * Catch blocks handle the failures they expect and nothing else: any other
 * error is a bug and must reach the process wrapper (cli/run.ts), which
 * reports it as an internal error instead of turning it into a decision.
 */
// `any` in the constructor type admits every error class's constructor signature
export function expected<E extends Error>(err: unknown, cls: abstract new (...args: any[]) => E): asserts err is E {
  if (!(err instanceof cls)) throw err;
}

/** What an errno code means, in words an administrator reads. */
const ERRNO: Readonly<Record<string, string>> = {
  ENOENT: 'does not exist',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many levels of symbolic links',
  ENOSPC: 'no space left on the device',
  ECONNREFUSED: 'nothing is listening there',
  // the code stays in the words: the daemon recognises running out of descriptors by it
  EMFILE: 'too many open files (EMFILE)',
  ENFILE: 'too many open files in the system (ENFILE)',
};

/**
 * A failed system call in words (`ENOENT` → `does not exist`); an unknown
 * code as it is, an error without one by its message.
 */
export function describeIo(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return ERRNO[code] ?? code;
  return err instanceof Error ? err.message : String(err);
}

/**
 * The command line is wrong (an unknown option, a missing or bad value):
 * the command says what, points at --help and exits 2, running nothing.
 * One class for every command, so one catch tells usage from failure.
 */
export class UsageError extends Error {
  override name = 'UsageError';
}

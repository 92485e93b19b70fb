/**
 * Catch blocks handle the failures they expect and nothing else: any other
 * error is a bug and must reach the process wrapper (cli/run.ts), which
 * reports it as an internal error instead of turning it into a decision.
 */
// `any` in the constructor type admits every error class's constructor signature
export function expected<E extends Error>(err: unknown, cls: abstract new (...args: any[]) => E): asserts err is E {
  if (!(err instanceof cls)) throw err;
}

/**
 * The command line is wrong (an unknown option, a missing or bad value):
 * the command says what, points at --help and exits 2, running nothing.
 * One class for every command, so one catch tells usage from failure.
 */
export class UsageError extends Error {
  override name = 'UsageError';
}

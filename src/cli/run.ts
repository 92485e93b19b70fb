/**
 * Process wrapper for every command: run an async main, set the exit code,
 * and turn anything unexpected into a one-line error and a failing status
 * (never a stack trace at the user, never an unhandled rejection).
 */
function crashReporter(name: string, crashStatus: number): (err: unknown) => void {
  return (err) => {
    const msg = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
    process.stderr.write(`${name}: internal error: ${msg}\n`);
    if (process.env['QREXEC_POLICY_DEBUG'] && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    process.exitCode = crashStatus;
  };
}

/**
 * The reader of standard output went away (`… | head`): stop quietly, there
 * is nobody to tell. Called before the first write: merely looking at
 * `process.stdout` makes Node build the stream (a few ms of start-up that
 * `qrexec-policy-exec --just-evaluate`, which prints nothing, need not pay).
 */
export function watchStdout(name: string, crashStatus = 1): void {
  const crash = crashReporter(name, crashStatus);
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') return process.exit(1);
    crash(err);
  });
}

/** `lazyStdout`: the command calls watchStdout() itself before it writes to standard output. */
export function runMain(name: string, main: () => Promise<number>, crashStatus = 1, lazyStdout = false): void {
  const crash = crashReporter(name, crashStatus);
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  if (!lazyStdout) watchStdout(name, crashStatus);
  main().then(
    (status) => {
      process.exitCode = status;
    },
    crash,
  );
}

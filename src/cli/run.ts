/**
 * Process wrapper for every command: run an async main, set the exit code,
 * and turn anything unexpected into a one-line error and a failing status
 * (never a stack trace at the user, never an unhandled rejection).
 */
export function runMain(name: string, main: () => Promise<number>, crashStatus = 1): void {
  const crash = (err: unknown) => {
    const msg = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
    process.stderr.write(`${name}: internal error: ${msg}\n`);
    if (process.env['QREXEC_POLICY_DEBUG'] && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    process.exitCode = crashStatus;
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  // the reader went away (`… | head`): stop quietly, there is nobody to tell
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') return process.exit(1);
    crash(err);
  });
  main().then(
    (status) => {
      process.exitCode = status;
    },
    crash,
  );
}

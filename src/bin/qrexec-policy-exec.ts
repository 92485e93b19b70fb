#!/usr/bin/env node
import { execMain } from '../cli/exec-main.js';
import { runMain, watchStdout } from '../cli/run.js';
import { describeIo } from '../errors.js';
import { writeFdSync } from '../io/fd-write.js';
import { stderrFdSink } from '../log.js';
import { VERSION } from '../version.js';

// standard output and log lines are written straight to their descriptors: building Node's streams
// costs start-up time (io/fd-write.ts); the stream, watched for EPIPE, only for a non-blocking one that is full
const stdout = (s: string) => {
  try {
    writeFdSync(1, s, () => {
      watchStdout('qrexec-policy-exec');
      return process.stdout;
    });
  } catch (err) {
    // the reader went away: nobody to tell (and no allow was delivered)
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') process.exit(1);
    throw new Error(`cannot write the answer to standard output: ${describeIo(err)}`);
  }
};
runMain('qrexec-policy-exec', () => execMain(process.argv.slice(2), { version: VERSION, stdout, stderrSink: stderrFdSink }), 1, true);

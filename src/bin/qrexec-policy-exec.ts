#!/usr/bin/env node
import { execMain } from '../cli/exec-main.js';
import { runMain, watchStdout } from '../cli/run.js';
import { VERSION } from '../version.js';

// standard output is built (and watched for EPIPE) only when something is printed:
// --just-evaluate prints nothing, and building the stream costs start-up time
let watching = false;
const stdout = (s: string) => {
  if (!watching) watchStdout('qrexec-policy-exec');
  watching = true;
  process.stdout.write(s);
};
runMain('qrexec-policy-exec', () => execMain(process.argv.slice(2), { version: VERSION, stdout }), 1, true);

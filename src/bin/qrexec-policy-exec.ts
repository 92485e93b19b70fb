#!/usr/bin/env node
import { execMain } from '../cli/exec-main.js';
import { runMain } from '../cli/run.js';
import { VERSION } from '../version.js';

// standard output is built only if a result block is printed (exec-main.ts)
runMain('qrexec-policy-exec', () => execMain(process.argv.slice(2), { version: VERSION }), 1, true);

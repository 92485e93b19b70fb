#!/usr/bin/env node
import { execMain } from '../cli/exec-main.js';
import { runMain } from '../cli/run.js';
import { VERSION } from '../version.js';

runMain('qrexec-policy-exec', () => execMain(process.argv.slice(2), { version: VERSION }));

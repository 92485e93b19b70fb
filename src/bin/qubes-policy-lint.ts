#!/usr/bin/env node
import { pendingMain } from '../cli/pending.js';
import { runMain } from '../cli/run.js';

runMain('qubes-policy-lint', async () => pendingMain('qubes-policy-lint', 'check qrexec policy files for syntax errors, line by line', process.argv.slice(2)));

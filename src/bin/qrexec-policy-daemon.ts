#!/usr/bin/env node
import { pendingMain } from '../cli/pending.js';
import { runMain } from '../cli/run.js';

runMain('qrexec-policy-daemon', async () => pendingMain('qrexec-policy-daemon', 'serve qrexec policy decisions on a unix socket (the qrexec-daemon policy socket)', process.argv.slice(2)));

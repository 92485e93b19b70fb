#!/usr/bin/env node
import { pendingMain } from '../cli/pending.js';
import { runMain } from '../cli/run.js';

runMain('qrexec-legacy-convert', async () => pendingMain('qrexec-legacy-convert', 'convert R4.0 /etc/qubes-rpc/policy files into policy.d files', process.argv.slice(2)));

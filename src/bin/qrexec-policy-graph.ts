#!/usr/bin/env node
import { pendingMain } from '../cli/pending.js';
import { runMain } from '../cli/run.js';

runMain('qrexec-policy-graph', async () => pendingMain('qrexec-policy-graph', 'draw the qrexec policy as a DOT graph of who may call whom', process.argv.slice(2)));

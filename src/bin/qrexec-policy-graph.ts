#!/usr/bin/env node
import { command } from '../cli/commands/graph.js';
import { defaultIo } from '../io/io.js';
import { runMain } from '../cli/run.js';
import { standaloneMain } from '../cli/standalone.js';

runMain('qrexec-policy-graph', () => standaloneMain('qrexec-policy-graph', command, process.argv.slice(2), defaultIo()));

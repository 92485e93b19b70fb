#!/usr/bin/env node
import { command } from '../cli/commands/qrexec-policy-restore.js';
import { defaultIo } from '../io/io.js';
import { runMain } from '../cli/run.js';
import { standaloneMain } from '../cli/standalone.js';

runMain('qrexec-policy-restore', () => standaloneMain('qrexec-policy-restore', command, process.argv.slice(2), defaultIo()));

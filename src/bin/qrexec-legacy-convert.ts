#!/usr/bin/env node
import { command } from '../cli/commands/convert.js';
import { defaultIo } from '../io/io.js';
import { runMain } from '../cli/run.js';
import { standaloneMain } from '../cli/standalone.js';

runMain('qrexec-legacy-convert', () => standaloneMain('qrexec-legacy-convert', command, process.argv.slice(2), defaultIo()));

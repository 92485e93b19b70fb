#!/usr/bin/env node
import { command } from '../cli/commands/qubes-policy.js';
import { defaultIo } from '../io/io.js';
import { runMain } from '../cli/run.js';
import { standaloneMain } from '../cli/standalone.js';

runMain('qubes-policy', () => standaloneMain('qubes-policy', command, process.argv.slice(2), defaultIo()));

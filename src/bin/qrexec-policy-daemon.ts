#!/usr/bin/env node
import { daemonCli } from '../cli/commands/daemon.js';
import { runMain } from '../cli/run.js';

runMain('qrexec-policy-daemon', () => daemonCli(process.argv.slice(2)));

#!/usr/bin/env node
import { umbrellaMain } from '../cli/umbrella.js';
import { runMain } from '../cli/run.js';

runMain('qrexec-policy', () => umbrellaMain(process.argv.slice(2)));

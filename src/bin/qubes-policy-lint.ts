#!/usr/bin/env node
import * as fs from 'node:fs';
import { dropinMain, readInput } from '../lint/dropin-cli.js';
import { runMain } from '../cli/run.js';

runMain('qubes-policy-lint', async () =>
  dropinMain(process.argv.slice(2), {
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
    read: (file) => readInput(file, () => fs.readFileSync(0)),
  }),
);

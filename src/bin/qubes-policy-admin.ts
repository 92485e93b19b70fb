#!/usr/bin/env node
import { adminMain, readFd } from '../admin/admin-cli.js';
import { runMain } from '../cli/run.js';

runMain(
  'qubes-policy-admin',
  () =>
    adminMain(process.argv.slice(2), process.env, {
      readStdin: (limit) => readFd(0, limit),
      out: (b) => void process.stdout.write(b),
      err: (s) => void process.stderr.write(s),
    }),
  2,
);

#!/usr/bin/env node
// A fake qrexec-client for tests. Appends one JSON line {argv, stdin} to
// $FAKE_QREXEC_LOG. For policy agent calls (`… QUBESRPC policy.Ask …`) it
// reads the JSON request from stdin and prints $FAKE_QREXEC_ASK_REPLY.
// Exits with $FAKE_QREXEC_EXIT (default 0), after $FAKE_QREXEC_SLEEP_MS.
import { appendFileSync, readFileSync } from 'node:fs';

const argv = process.argv.slice(2);
const agentCall = argv.some((a) => /QUBESRPC policy\.(Ask|Notify) /.test(a));
const stdin = agentCall ? readFileSync(0, 'utf8') : null;
if (process.env.FAKE_QREXEC_LOG) appendFileSync(process.env.FAKE_QREXEC_LOG, JSON.stringify({ argv, stdin }) + '\n');
if (agentCall && argv.some((a) => a.includes('policy.Ask'))) process.stdout.write(process.env.FAKE_QREXEC_ASK_REPLY ?? 'deny');
if (process.env.FAKE_QREXEC_SIGNAL) {
  // die by the signal; stay alive until it arrives (it is delivered asynchronously)
  process.kill(process.pid, process.env.FAKE_QREXEC_SIGNAL);
  setInterval(() => {}, 1000);
} else {
  const sleep = Number(process.env.FAKE_QREXEC_SLEEP_MS ?? 0);
  setTimeout(() => process.exit(Number(process.env.FAKE_QREXEC_EXIT ?? 0)), sleep);
}

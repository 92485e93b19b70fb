#!/usr/bin/env node
// The daemon benchmark's load client in Node, used when no C compiler is at
// hand for load-client.c (same arguments, same JSON line). It is slower: on
// a small machine it takes CPU the daemon would otherwise use, so its
// figures understate the daemon.
//
// usage: load-client.mjs SOCKET CLIENTS MAX_REQUESTS MAX_SECONDS REQUESTS_FILE
import * as fs from 'node:fs';
import * as net from 'node:net';

const [socketPath, clientsArg, maxArg, secondsArg, file] = process.argv.slice(2);
const clients = Number(clientsArg);
const maxRequests = Number(maxArg);
const deadline = performance.now() + Number(secondsArg) * 1000;
const requests = fs.readFileSync(file, 'latin1').split('\0').slice(0, -1);

function one(request) {
  return new Promise((resolve) => {
    const chunks = [];
    const sock = net.createConnection(socketPath, () => sock.write(request, 'latin1'));
    sock.on('data', (b) => chunks.push(b));
    sock.on('error', () => resolve(-1));
    sock.on('close', () => {
      const out = Buffer.concat(chunks).toString('latin1');
      // Qubes' daemon ends its answers without the final newline ours writes
      if (/(^|\n)result=allow(\n|$)/.test(out)) resolve(1);
      else resolve(out === 'result=deny\n' || out === 'result=deny' ? 0 : -1);
    });
  });
}

let issued = 0;
const lat = [];
const counts = { errors: 0, allow: 0, deny: 0 };
async function run() {
  for (;;) {
    const k = issued++;
    if (k >= maxRequests || performance.now() >= deadline) return;
    const t0 = performance.now();
    const r = await one(requests[k % requests.length]);
    lat.push(performance.now() - t0);
    if (r < 0) counts.errors++;
    else if (r) counts.allow++;
    else counts.deny++;
  }
}

const t0 = performance.now();
await Promise.all(Array.from({ length: clients }, run));
const seconds = (performance.now() - t0) / 1000;
lat.sort((a, b) => a - b);
const at = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : 0);
console.log(
  JSON.stringify({ requests: lat.length, seconds, ...counts, p50_ms: at(0.5), p99_ms: at(0.99) }),
);

#!/usr/bin/env node
// A fake qubesd for the daemon benchmark's production shape: a real unix
// socket speaking qubesd's wire protocol (`METHOD+ARG SOURCE DEST_TYPE
// DEST\0PAYLOAD`, half-closed; reply `0\0DATA`), answering
// internal.GetSystemInfo with a fixed JSON file and anything else with a
// QubesException. A process of its own, so that it takes CPU the way qubesd
// would, apart from the daemon being measured.
//
// usage: fake-qubesd.mjs SOCKET SYSTEM_INFO_JSON   (prints "listening"; SIGTERM stops it)
import * as fs from 'node:fs';
import * as net from 'node:net';

const [socket, infoFile] = process.argv.slice(2);
const info = Buffer.concat([Buffer.from('0\0'), fs.readFileSync(infoFile)]);
const refusal = Buffer.from('2\0QubesException\0\0%s\0not in this fake\0');
try {
  fs.unlinkSync(socket);
} catch {}
let calls = 0;
const server = net.createServer({ allowHalfOpen: true }, (conn) => {
  let header = '';
  conn.on('data', (b) => (header += b.toString('latin1')));
  conn.on('error', () => {});
  conn.on('end', () => {
    calls++;
    conn.end(header.startsWith('internal.GetSystemInfo') ? info : refusal);
  });
});
server.listen(socket, () => console.log('listening'));
process.on('SIGTERM', () => {
  process.stderr.write(`fake qubesd: ${calls} calls\n`);
  server.close(() => process.exit(0));
});

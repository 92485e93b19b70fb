#!/usr/bin/env node
// The floor for the daemon benchmark: one Node process serving the policy
// socket's protocol with no policy at all. It reads a request up to the
// empty line, writes one fixed result block and closes, the cheapest way
// Node does it (write, then destroy: about 15 % less CPU per request here
// than end(), which waits for the client's EOF), so the daemon's figures
// read against what this machine and Node can do for one connection per
// request.
//
// usage: floor-server.mjs SOCKET   (prints "listening" when ready; SIGTERM stops it)
import * as fs from 'node:fs';
import * as net from 'node:net';

const socket = process.argv[2];
const ANSWER = 'result=allow\ntarget=work\nautostart=True\nrequested_target=work\n\n';
try {
  fs.unlinkSync(socket);
} catch {}
const server = net.createServer({ allowHalfOpen: true }, (sock) => {
  let got = '';
  sock.on('data', (chunk) => {
    got += chunk.toString('latin1');
    if (got.includes('\n\n')) {
      sock.write(ANSWER, 'latin1');
      sock.destroy();
    }
  });
  sock.on('error', () => {});
});
server.listen(socket, () => console.log('listening'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

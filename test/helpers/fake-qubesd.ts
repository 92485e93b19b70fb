/**
 * A fake qubesd for tests: a real unix socket speaking the real wire protocol
 * (`METHOD+ARG SOURCE DEST_TYPE DEST\0PAYLOAD`, reply `0\0DATA` or
 * `2\0TYPE\0TRACEBACK\0FORMAT\0ARGS\0`). It records every call and answers
 * from a handler that can also return an exception, garbage, or hang.
 */
import * as net from 'node:net';
import * as path from 'node:path';

export interface QubesdRequest {
  method: string;
  arg: string;
  source: string;
  destType: string;
  dest: string;
  payload: string;
}

export type QubesdReply =
  | { ok: string }
  | { exception: string }
  | { raw: Buffer | string }
  | 'hang';

export type QubesdHandler = (req: QubesdRequest) => QubesdReply;

export interface FakeQubesd {
  socket: string;
  calls: QubesdRequest[];
  close(): Promise<void>;
}

function encode(reply: Exclude<QubesdReply, 'hang'>): Buffer {
  if ('ok' in reply) return Buffer.concat([Buffer.from('0\0'), Buffer.from(reply.ok)]);
  if ('exception' in reply) return Buffer.from(`2\0${reply.exception}\0Traceback\0%s\0oops\0`);
  return Buffer.isBuffer(reply.raw) ? reply.raw : Buffer.from(reply.raw);
}

export async function startFakeQubesd(dir: string, name: string, handler: QubesdHandler): Promise<FakeQubesd> {
  const socket = path.join(dir, name);
  const calls: QubesdRequest[] = [];
  const open = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (conn) => {
    open.add(conn);
    conn.on('close', () => open.delete(conn));
    const chunks: Buffer[] = [];
    conn.on('data', (b) => chunks.push(b));
    conn.on('error', () => {});
    conn.on('end', () => {
      const data = Buffer.concat(chunks).toString('latin1');
      const nul = data.indexOf('\0');
      const header = nul < 0 ? data : data.slice(0, nul);
      const [methArg = '', source = '', destType = '', dest = ''] = header.split(' ');
      const plus = methArg.indexOf('+');
      const req: QubesdRequest = {
        method: plus < 0 ? methArg : methArg.slice(0, plus),
        arg: plus < 0 ? '' : methArg.slice(plus + 1),
        source,
        destType,
        dest,
        payload: nul < 0 ? '' : data.slice(nul + 1),
      };
      calls.push(req);
      const reply = handler(req);
      if (reply === 'hang') return;
      conn.end(encode(reply));
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    socket,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of open) c.destroy();
        server.close(() => resolve());
      }),
  };
}

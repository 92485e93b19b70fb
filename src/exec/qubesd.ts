/**
 * qubesd client: the real wire protocol over a unix socket (SPEC §5.2, §7).
 * Request `METHOD+ARG SOURCE DEST_TYPE DEST\0` then the payload; the client
 * shuts its write side and reads everything. Reply `0\0DATA` on success,
 * `2\0TYPE\0TRACEBACK\0FORMAT\0ARGS` for a qubesd exception.
 */
import * as net from 'node:net';
import { MAX_SYSTEM_INFO_SIZE } from '../parser/limits.js';
import { describeIo } from '../errors.js';


export class QubesdError extends Error {
  constructor(
    message: string,
    /** qubesd's exception type (e.g. `QubesVMNotHaltedError`), or null for transport errors. */
    readonly excType: string | null,
  ) {
    super(message);
    this.name = 'QubesdError';
  }
}

export interface QubesdCall {
  socket: string;
  method: string;
  arg?: string;
  /** `name` (a qube name or `dom0`) or another qubesd destination type. */
  destType?: string;
  dest: string;
  payload?: Buffer | string;
  timeoutMs?: number;
  /** Largest reply accepted (default: the system-info limit, the largest thing qubesd sends). */
  maxReply?: number;
}


export function qubesdCall(call: QubesdCall): Promise<Buffer> {
  const header = `${call.method}+${call.arg ?? ''} dom0 ${call.destType ?? 'name'} ${call.dest}\0`;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const timeoutMs = call.timeoutMs ?? 10000;
    const done = (err: Error | null, data?: Buffer) => {
      /* c8 ignore next -- a late error after the reply (or the timeout) changes nothing */
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(data!);
    };
    const sock = net.createConnection(call.socket);
    const timer = setTimeout(
      () => done(new QubesdError(`qubesd did not answer ${call.method} within ${timeoutMs} ms`, null)),
      timeoutMs,
    );
    sock.on('connect', () => {
      sock.write(header);
      if (call.payload !== undefined) sock.write(call.payload);
      sock.end();
    });
    sock.on('data', (b: Buffer) => {
      size += b.length;
      if (size > (call.maxReply ?? MAX_SYSTEM_INFO_SIZE)) return done(new QubesdError(`qubesd reply to ${call.method} is too large`, null));
      chunks.push(b);
    });
    sock.on('error', (e: NodeJS.ErrnoException) =>
      // socket errors carry an errno code (ENOENT, ECONNREFUSED, …)
      done(new QubesdError(`cannot talk to qubesd at ${call.socket}: ${describeIo(e)}`, null)),
    );
    sock.on('end', () => {
      const data = Buffer.concat(chunks);
      if (data.length >= 2 && data[0] === 0x30 && data[1] === 0) return done(null, data.subarray(2));
      if (data.length >= 2 && data[0] === 0x32 && data[1] === 0) {
        const type = data.subarray(2, data.indexOf(0, 2) < 0 ? data.length : data.indexOf(0, 2)).toString('latin1');
        return done(new QubesdError(`qubesd refused ${call.method}: ${type}`, type));
      }
      done(new QubesdError(`invalid qubesd response to ${call.method} (${data.length} bytes)`, null));
    });
  });
}

/**
 * Writing to stdout or stderr without Node's streams. A per-call process
 * writes a few lines and exits; building `process.stdout` or
 * `process.stderr` for them costs 3–7 ms each, more than deciding the call.
 */
import { writeSync } from 'node:fs';

/**
 * Write all of `text` to `fd` now. A non-blocking descriptor that is full
 * (EAGAIN) is handed to `stream`, which waits for it; any other error is
 * thrown to the caller.
 */
export function writeFdSync(fd: number, text: string, stream: () => NodeJS.WritableStream): void {
  const bytes = Buffer.from(text);
  let done = 0;
  try {
    while (done < bytes.length) {
      const n = writeSync(fd, bytes, done);
      /* c8 ignore next -- a write that takes nothing would loop for ever; no descriptor we write to does it */
      if (n <= 0) throw Object.assign(new Error('nothing written'), { code: 'EIO' });
      done += n;
    }
  } catch (err) {
    /* c8 ignore next 3 -- only a non-blocking descriptor that is full says EAGAIN */
    if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    stream().write(bytes.subarray(done));
  }
}

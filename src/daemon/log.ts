/**
 * The daemon's winston logger: the same line format as every other command
 * (log.ts), but lines are gathered and written once per event-loop turn.
 * At thousands of decisions a second a write (or a thread-pool round trip)
 * per line would cost more than deciding. Every line stays whole and in
 * order: a file is opened O_APPEND, and a batch for a pipe is cut into
 * writes the kernel does not interleave with other processes' writes.
 */
import * as fs from 'node:fs';
import type TransportStream from 'winston-transport';
import { loadWinston, winstonLines, type Level, type Logger } from '../log.js';

const MESSAGE = Symbol.for('message');
/**
 * Writes of at most this many bytes to a pipe (stderr under systemd) are never
 * interleaved with other writers' (the worker processes'): batches are cut there.
 */
const PIPE_BUF = 4096;

/** Where a batch of lines goes: appended to `file`, or to stderr; a file that fails falls back to stderr. */
export function lineWriter(file: string | null): (text: string) => void {
  const toStderr = (text: string) => void process.stderr.write(text);
  if (file === null) return toStderr;
  let fd: number | null = null;
  return (text) => {
    try {
      fd ??= fs.openSync(file, 'a', 0o640);
      fs.writeSync(fd, text);
    } catch {
      toStderr(text);
    }
  };
}

export interface DaemonLogger extends Logger {
  /** Write what is pending now (before the process ends). */
  flush(): void;
}

export async function daemonLogger(level: Level, write: (text: string) => void): Promise<DaemonLogger> {
  const winston = await loadWinston();
  // the class winston exports at run time (its typings only name it `transport`, as a namespace)
  const Transport = (winston as unknown as { Transport: typeof TransportStream }).Transport;
  class Batched extends Transport {
    private lines: string[] = [];

    readonly flush = () => {
      let chunk = '';
      let bytes = 0;
      for (const line of this.lines) {
        const n = Buffer.byteLength(line) + 1;
        if (bytes > 0 && bytes + n > PIPE_BUF) {
          write(chunk);
          chunk = '';
          bytes = 0;
        }
        chunk += line + '\n';
        bytes += n;
      }
      this.lines = [];
      if (bytes > 0) write(chunk);
    };

    override log(info: Record<string | symbol, unknown>, next: () => void): void {
      if (this.lines.length === 0) setImmediate(this.flush);
      this.lines.push(info[MESSAGE] as string);
      next();
    }
  }
  const batched = new Batched();
  return { ...winstonLines(winston, level, [batched]), flush: batched.flush };
}

/**
 * The daemon's logger: the same line format as every other command
 * (log.ts), but lines are gathered and written together, within a few
 * milliseconds. At thousands of decisions a second a write (or a
 * thread-pool round trip) per line would cost more than deciding. Every line stays whole and in
 * order: a file is opened O_APPEND, and a batch for a pipe is cut into
 * writes the kernel does not interleave with other processes' writes.
 *
 * Logging can fail (the journal gone: EPIPE; a full disk or /dev/full:
 * ENOSPC; a journal that does not keep up: EAGAIN) and must never take the
 * daemon with it, nor make it wait: a batch that cannot be written is
 * dropped and its lines counted, and once writing works again a line says
 * how many were lost. Writes are checked for their byte count: the rest of
 * a short write is written, not lost.
 */
import * as fs from 'node:fs';
import { lineLogger, type Level, type Logger } from '../log.js';
import { describeIo } from '../errors.js';

/**
 * Writes of at most this many bytes to a pipe (stderr under systemd) are never
 * interleaved with other writers' (the worker processes'): batches are cut there.
 */
const PIPE_BUF = 4096;
/** After a write fails (other than EAGAIN), lines are dropped for this long before trying again. */
export const RETRY_MS = 1000;

/** The write system call, as fs.writeSync makes it (tests pass one that fails on purpose). */
export type WriteFn = (fd: number, buffer: Buffer, offset: number, length: number) => number;

const writeSync: WriteFn = (fd, buffer, offset, length) => fs.writeSync(fd, buffer, offset, length);

/**
 * One place log lines go (a file, stderr). `open` gives its descriptor (and
 * may fail: it is tried again later); a batch that fails goes to `fallback`
 * if there is one.
 */
export class LogOutput {
  private fd: number | null = null;
  private failedAt = -Infinity;
  private failure = '';
  /** Lines lost since writing last worked. */
  private dropped = 0;
  /** A failed write left part of a line: the next write starts on a new line. */
  private midLine = false;

  constructor(
    private readonly name: string,
    private readonly open: () => number,
    private readonly fallback: LogOutput | null = null,
    private readonly write: WriteFn = writeSync,
    private readonly retryMs = RETRY_MS,
  ) {}

  /** Write `text` (whole lines); false if it could not be written here. */
  put(text: string): boolean {
    if (performance.now() - this.failedAt < this.retryMs) return this.lost(text);
    try {
      this.fd ??= this.open();
      if (this.dropped > 0) {
        const n = this.dropped;
        const where = this.fallback === null ? 'were dropped' : `went to ${this.fallback.name} instead`;
        // a write of its own: a batch stays within what a pipe takes whole
        this.writeAll(this.fd, `warning: ${n} log line${n === 1 ? '' : 's'} could not be written to ${this.name} (${this.failure}) and ${where}\n`);
        this.dropped = 0;
      }
      this.writeAll(this.fd, text);
      return true;
    } catch (err) {
      this.failure = describeIo(err);
      // a full pipe empties soon: try again with the next batch; anything else, a second later
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') this.failedAt = performance.now();
      return this.lost(text);
    }
  }

  /** Write all of `text`, however many writes it takes; a failure part-way leaves `midLine` set. */
  private writeAll(fd: number, text: string): void {
    const buf = Buffer.from(this.midLine ? '\n' + text : text);
    let written = 0;
    try {
      while (written < buf.length) {
        const n = this.write(fd, buf, written, buf.length - written);
        if (n <= 0) throw Object.assign(new Error('nothing written'), { code: 'short write' });
        written += n;
      }
    } finally {
      if (written > 0) this.midLine = buf[written - 1] !== 0x0a;
    }
  }

  private lost(text: string): boolean {
    this.dropped += countLines(text);
    this.fallback?.put(text);
    return false;
  }
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** Where a batch of lines goes: appended to `file`, or to stderr; what the file cannot take goes to stderr. */
export function lineWriter(file: string | null, write: WriteFn = writeSync, retryMs = RETRY_MS): (text: string) => void {
  const stderr = new LogOutput('stderr', () => 2, null, write, retryMs);
  const out = file === null ? stderr : new LogOutput(file, () => fs.openSync(file, 'a', 0o640), stderr, write, retryMs);
  return (text) => void out.put(text);
}

/**
 * Error handlers on stdout and stderr, for everything else that writes
 * there (a crash report): without one, a failed write is an uncaught
 * exception whose report fails the same way, forever, at 100 % CPU. Touching
 * the streams also makes a pipe or socket there non-blocking, so a journal
 * that stops reading costs dropped lines, never a stalled daemon. Returns a
 * function that removes the handlers.
 */
export function guardStdio(streams: NodeJS.EventEmitter[] = [process.stdout, process.stderr]): () => void {
  const ignore = () => {};
  for (const s of streams) s.on('error', ignore);
  return () => {
    for (const s of streams) s.off('error', ignore);
  };
}

export interface DaemonLogger extends Logger {
  /** Write what is pending now (before the process ends). */
  flush(): void;
}

/**
 * How long a line may wait to be written with others (ms). Writing once per
 * event-loop turn still cost a write system call every request or two at
 * full load (about a tenth of the daemon's CPU, profiled, issue 17); a few
 * milliseconds gather dozens of lines into one write.
 */
export const FLUSH_MS = 5;

/**
 * Lines are formatted by the same lineLogger every command uses and gathered
 * here, written together within FLUSH_MS, in writes of at most PIPE_BUF
 * bytes. (winston's stream machinery cost about 8 % of the daemon's CPU at
 * full load for the same lines, profiled in issue 17: the daemon does
 * without it.)
 */
export async function daemonLogger(level: Level, write: (text: string) => void, flushMs = FLUSH_MS): Promise<DaemonLogger> {
  let lines: string[] = [];
  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    let chunk = '';
    let bytes = 0;
    for (const line of lines) {
      const n = Buffer.byteLength(line) + 1;
      if (bytes > 0 && bytes + n > PIPE_BUF) {
        write(chunk);
        chunk = '';
        bytes = 0;
      }
      chunk += line + '\n';
      bytes += n;
    }
    lines = [];
    if (bytes > 0) write(chunk);
  };
  const gather = (_level: Level, line: string) => {
    if (lines.length === 0) timer = setTimeout(flush, flushMs);
    lines.push(line);
  };
  return { ...lineLogger(level, [gather]), flush };
}

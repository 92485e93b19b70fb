/**
 * Output for long lists: many small writes become a few large ones, a slow
 * reader holds the listing back instead of letting output pile up in memory,
 * and the listing stops as soon as the reader has gone (`list | head`).
 */
import type { EventEmitter } from 'node:events';

/** Thrown by BufferedOut.flush once the reader has gone; the command stops quietly. */
export class OutputClosed extends Error {}

/** Where the text goes, and how to wait for its reader. */
export interface Sink {
  write: (s: string) => void;
  /** Resolves once the reader has caught up (or has gone). */
  drain: () => Promise<void>;
  /** True once the reader has gone. */
  closed: () => boolean;
}

export class BufferedOut {
  private parts: string[] = [];
  private size = 0;

  constructor(
    private readonly sink: Sink,
    private readonly limit = 1 << 16,
  ) {}

  write(s: string): void {
    this.parts.push(s);
    this.size += s.length;
  }

  /** Enough is buffered to be worth a flush. */
  get full(): boolean {
    return this.size >= this.limit;
  }

  async flush(): Promise<void> {
    if (this.parts.length) {
      this.sink.write(this.parts.join(''));
      this.parts = [];
      this.size = 0;
    }
    await this.sink.drain();
    if (this.sink.closed()) throw new OutputClosed('output closed');
  }
}

/** What streamSink needs of a stream (process.stdout has it). */
export type Watched = EventEmitter & { readonly writableNeedDrain: boolean };

/**
 * A Sink over a stream (process.stdout). A closed pipe (EPIPE) is an expected
 * end, not a crash: its error event is swallowed and marks the sink closed.
 * Any other stream error is rethrown (the process wrapper reports it).
 * `release` stops listening, a tick later: the error event follows the
 * failed write.
 */
export function streamSink(stream: Watched, write: (s: string) => void): Sink & { release: () => void } {
  let gone = false;
  const onError = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    gone = true;
  };
  stream.on('error', onError);
  return {
    write,
    drain: () =>
      gone || !stream.writableNeedDrain
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const done = () => {
              stream.off('drain', done);
              stream.off('error', done);
              resolve();
            };
            stream.on('drain', done);
            stream.on('error', done);
          }),
    closed: () => gone,
    release: () => void setImmediate(() => stream.off('error', onError)),
  };
}

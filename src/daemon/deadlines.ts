/**
 * Read timeouts for many connections with one timer: every connection gets
 * the same limit, so insertion order is deadline order and a sweep stops at
 * the first one still in time. Cheaper than a timer per connection, which
 * matters at tens of thousands of connections a second.
 */
import type { Socket } from 'node:net';

export class Deadlines {
  private readonly due = new Map<Socket, { at: number; expire: () => void }>();
  private timer: NodeJS.Timeout | null = null;

  /** `limitMs`: how long a connection may take; sweeps run often enough to be late by at most a quarter of it. */
  constructor(private readonly limitMs: number) {}

  add(sock: Socket, expire: () => void): void {
    this.due.set(sock, { at: performance.now() + this.limitMs, expire });
    if (this.timer === null) {
      this.timer = setInterval(() => this.sweep(), Math.max(5, Math.min(1000, this.limitMs / 4)));
      this.timer.unref();
    }
  }

  delete(sock: Socket): void {
    this.due.delete(sock);
  }

  private sweep(): void {
    const now = performance.now();
    for (const [sock, d] of this.due) {
      if (d.at > now) break;
      this.due.delete(sock);
      d.expire();
    }
    if (this.due.size === 0) this.stop();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

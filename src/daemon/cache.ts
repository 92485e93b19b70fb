/**
 * A value loaded from files and kept until something it depends on changes
 * (SPEC §8), never taken from a tree caught in the middle of a change.
 *
 * Any watch event marks the value outdated: from then on requests wait for
 * the tree to settle and be read again (`get()` returns a promise), so no
 * answer comes from a value older than the last change seen. A read counts
 * only when it is *settled*:
 * - quiet: nothing it looked at changed (ctime) and no watch fired for
 *   QUIET_MS before it, so a writer that pauses less than that between the
 *   steps of one change (truncate and write, rename away and write anew,
 *   remove a directory and fill a new one) is never read half-way;
 * - whole: everything it looked at is, after the read, still as it was when
 *   read (snapshot.ts), so it never mixes two versions.
 * A read that is not settled is thrown away and tried again once the tree
 * has been quiet for QUIET_MS. A tree that stays unsettled (changes never
 * QUIET_MS apart) for SETTLE_LIMIT_MS is read as it is, and kept whatever it
 * says (a load that fails denies everything) — but only once a read past
 * the limit found it still changing a quiet period earlier: a daemon that
 * was starved of CPU past the limit has not seen the tree never settle, and
 * reading it as it is then would catch a writer half-way through an edit. A request waits at most
 * WAIT_LIMIT_MS: if no settled read has come by then (the daemon starved of
 * CPU while changes keep coming), it is answered from the last complete
 * policy, never from a half-read one.
 *
 * Watches are set up before the load reads anything, and what the load
 * itself reveals (included files elsewhere) is watched and loaded again, so
 * no change can fall between reading and watching.
 */
import { Snapshot } from './snapshot.js';
import { Watches, type WatchSpec } from './watch.js';

/** A change is over once nothing has changed for this long (ms). */
export const QUIET_MS = 50;
/** A tree that has not been quiet for this long (ms) is read as it is. */
export const SETTLE_LIMIT_MS = 150;
/** A request waits at most this long (ms) for a settled read, then gets the last complete value. */
export const WAIT_LIMIT_MS = 200;

export interface Loaded<T> {
  value: T;
  /** What the value was read from, beyond the fixed roots. */
  deps: WatchSpec[];
  /** The read failed for a passing reason (out of file descriptors): read again for the next request. */
  retry?: boolean;
}

export interface CacheHooks<T> {
  /** The fixed things to watch (directory trees, a file), recomputed at every read. */
  roots(): WatchSpec[];
  /** Read the value; everything looked at goes through `seen` (its `source()`, or `stat`/`resolve`). */
  load(seen: Snapshot): Loaded<T>;
  /** Called after every load that is kept, with the new value (for logging). */
  loaded(value: T, watching: boolean): void;
}

export interface SettleTimes {
  quietMs: number;
  limitMs: number;
  waitMs: number;
}

/** How many times a load may reveal new dependencies before we settle. */
const MAX_PASSES = 3;

interface Waiter<T> {
  since: number;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export class ReloadingCache<T> {
  private value: T | null = null;
  /** The value answers for the tree as it is: no change seen since it was read. */
  private current = false;
  /** When (performance.now()) the tree last changed, as far as we know. */
  private changedAt = -Infinity;
  /** When the change now unsettled began; null while settled. */
  private unsettledSince: number | null = null;
  /** When a read past the limit first found the tree still changing; null until one did. */
  private movingPastLimitAt: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Those waiting, oldest first, and the timer for the oldest one's limit. */
  private waiters: Waiter<T>[] = [];
  private waitTimer: NodeJS.Timeout | null = null;
  private deps: WatchSpec[] = [];
  private readonly watches: Watches;
  private closed = false;
  /** Loads kept so far (tests and the debug log use it). */
  loads = 0;
  /** Reads thrown away because the tree was still changing. */
  unsettledReads = 0;
  /** Requests answered from the last complete value after waiting WAIT_LIMIT_MS. */
  waitedOut = 0;

  constructor(
    private readonly hooks: CacheHooks<T>,
    private readonly times: SettleTimes = { quietMs: QUIET_MS, limitMs: SETTLE_LIMIT_MS, waitMs: WAIT_LIMIT_MS },
  ) {
    this.watches = new Watches(() => this.changed(performance.now()));
  }

  /** The value, if it answers for the tree as it is now; null otherwise (and nothing is started). */
  peek(): T | null {
    return this.current ? this.value : null;
  }

  /** The current value: at once if nothing changed since it was read, else once the tree has settled and been read again. */
  get(): T | Promise<T> {
    if (this.current) return this.value!;
    const since = performance.now();
    const waiting = new Promise<T>((resolve, reject) => this.waiters.push({ since, resolve, reject }));
    if (this.unsettledSince === null) this.changed(-Infinity);
    this.armWaitLimit();
    return waiting;
  }

  /** Answer those who waited WAIT_LIMIT_MS from the last complete value (if there is one yet). */
  private armWaitLimit(): void {
    if (this.waitTimer !== null || this.value === null || this.waiters.length === 0) return;
    const due = this.waiters[0]!.since + this.times.waitMs;
    this.waitTimer = setTimeout(() => {
      this.waitTimer = null;
      const now = performance.now();
      const late = this.waiters.findIndex((w) => now < w.since + this.times.waitMs);
      const done = this.waiters.splice(0, late < 0 ? this.waiters.length : late);
      this.waitedOut += done.length;
      for (const w of done) w.resolve(this.value!);
      this.armWaitLimit();
    }, Math.max(0, due - performance.now()));
  }

  /** Forget the value (SIGHUP): the next `get()` waits for a new read. */
  invalidate(): void {
    this.changed(-Infinity);
  }

  /** Something changed at `at` (performance.now(); -Infinity: when, nobody knows, long enough ago). */
  private changed(at: number): void {
    if (this.closed) return;
    this.current = false;
    // after a quiet period the tree had settled, even if no read came in time: a new change starts a new count
    if (this.unsettledSince !== null && at - this.changedAt >= this.times.quietMs) {
      this.unsettledSince = at;
      this.movingPastLimitAt = null;
    }
    if (at > this.changedAt) this.changedAt = at;
    this.unsettledSince ??= performance.now();
    this.schedule();
  }

  /**
   * Read again once the tree has been quiet for quietMs, or at the limit
   * (once past it and still changing: a quiet period later), whichever comes first.
   */
  private schedule(): void {
    const limitAt = this.movingPastLimitAt === null ? this.unsettledSince! + this.times.limitMs : this.movingPastLimitAt + this.times.quietMs;
    const due = Math.min(this.changedAt + this.times.quietMs, limitAt);
    if (this.timer !== null) clearTimeout(this.timer);
    // (a millisecond late rather than early: timers run on a coarser clock)
    this.timer = setTimeout(() => this.attempt(), Math.max(0, due - performance.now()) + 1);
  }

  private attempt(): void {
    this.timer = null;
    let read: { loaded: Loaded<T>; watching: boolean; seen: Snapshot };
    try {
      read = this.read();
    } catch (err) {
      // a load that fails unexpectedly (a bug): those waiting learn of it, and the old value is not served
      this.unsettledSince = null;
      this.movingPastLimitAt = null;
      this.stopWaitLimit();
      for (const w of this.waiters.splice(0)) w.reject(err);
      return;
    }
    const now = performance.now();
    const changedAt = this.movingAt(read.seen, now);
    if (changedAt !== null) {
      const pastLimit = now >= this.unsettledSince! + this.times.limitMs;
      const neverSettles = pastLimit && this.movingPastLimitAt !== null && now - this.movingPastLimitAt >= this.times.quietMs;
      if (!neverSettles) {
        this.unsettledReads++;
        if (pastLimit) this.movingPastLimitAt ??= now;
        // (a change that began a new count forgets the limit of the old one)
        this.changed(changedAt);
        return;
      }
    }
    this.keep(read.loaded, read.watching);
  }

  /** Null when the read is settled (whole and quiet); else when (performance.now()) the change it met was made. */
  private movingAt(seen: Snapshot, now: number): number | null {
    if (!seen.unchanged()) return now;
    // ctime is wall-clock time, at the kernel's coarse resolution
    const sinceChange = Date.now() - seen.newestChangeMs;
    if (sinceChange < this.times.quietMs && sinceChange > -this.times.quietMs) return now - Math.max(0, sinceChange);
    return null;
  }

  private read(): { loaded: Loaded<T>; watching: boolean; seen: Snapshot } {
    let watching = this.watches.replace([...this.hooks.roots(), ...this.deps]);
    let seen = new Snapshot();
    let loaded = this.hooks.load(seen);
    for (let pass = 1; ; pass++) {
      const fresh = loaded.deps.filter((d) => !this.watches.has(d));
      if (fresh.length === 0) break;
      // read after watching: a change in between cannot go unseen
      if (!this.watches.add(fresh) || pass === MAX_PASSES) {
        // unwatchable, or never settling: reading again now would not help
        watching = false;
        break;
      }
      seen = new Snapshot();
      loaded = this.hooks.load(seen);
    }
    return { loaded, watching, seen };
  }

  private keep(loaded: Loaded<T>, watching: boolean): void {
    this.loads++;
    this.deps = loaded.deps;
    this.value = loaded.value;
    this.unsettledSince = null;
    this.movingPastLimitAt = null;
    // what cannot be watched cannot be trusted: read it again for the next request
    this.current = watching && loaded.retry !== true;
    this.hooks.loaded(loaded.value, watching);
    this.stopWaitLimit();
    for (const w of this.waiters.splice(0)) w.resolve(loaded.value);
  }

  private stopWaitLimit(): void {
    if (this.waitTimer !== null) clearTimeout(this.waitTimer);
    this.waitTimer = null;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.stopWaitLimit();
    this.watches.close();
  }
}

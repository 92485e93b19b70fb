/**
 * A value loaded from files and kept until something it depends on changes
 * (SPEC §8). Any watch event marks it outdated; the next `get()` reloads it
 * before answering, so no answer comes from a value older than the last
 * change seen. Watches are set up before the load reads anything, and what
 * the load itself reveals (included files elsewhere) is watched and loaded
 * again, so no change can fall between reading and watching.
 */
import { Watches, type WatchSpec } from './watch.js';

export interface Loaded<T> {
  value: T;
  /** What the value was read from, beyond the fixed roots. */
  deps: WatchSpec[];
}

export interface CacheHooks<T> {
  /** The fixed things to watch (directory trees, a file), recomputed at every load. */
  roots(): WatchSpec[];
  load(): Loaded<T>;
  /** Called after every load with the new value (for logging). */
  loaded(value: T, watching: boolean): void;
}

/** How many times a load may reveal new dependencies before we settle. */
const MAX_PASSES = 3;

export class ReloadingCache<T> {
  private value: T | null = null;
  private outdated = true;
  private deps: WatchSpec[] = [];
  private readonly watches: Watches;
  /** Loads so far (tests and the debug log use it). */
  loads = 0;

  constructor(private readonly hooks: CacheHooks<T>) {
    this.watches = new Watches(() => {
      this.outdated = true;
    });
  }

  /** The current value, reloaded first if anything changed since it was read. */
  get(): T {
    if (this.outdated) this.reload();
    return this.value!;
  }

  /** Forget the value (SIGHUP); the next `get()` reads it again. */
  invalidate(): void {
    this.outdated = true;
  }

  private reload(): void {
    this.outdated = false;
    try {
      this.load();
    } catch (err) {
      // a load that fails unexpectedly must not leave the old value looking current
      this.outdated = true;
      throw err;
    }
  }

  private load(): void {
    const specs = [...this.hooks.roots(), ...this.deps];
    let watching = this.watches.replace(specs);
    let loaded = this.hooks.load();
    for (let pass = 1; ; pass++) {
      const fresh = loaded.deps.filter((d) => !this.watches.has(d));
      if (fresh.length === 0) break;
      // read after watching: a change in between cannot go unseen
      if (!this.watches.add(fresh) || pass === MAX_PASSES) {
        // unwatchable, or never settling: reading again now would not help
        watching = false;
        break;
      }
      loaded = this.hooks.load();
    }
    this.loads++;
    this.deps = loaded.deps;
    this.value = loaded.value;
    // what cannot be watched cannot be trusted: read it again for every request
    if (!watching) this.outdated = true;
    this.hooks.loaded(loaded.value, watching);
  }

  close(): void {
    this.watches.close();
  }
}

/**
 * Directory watches (fs.watch, inotify on Linux) that only ever say "something
 * changed". Events may be coalesced or lost details; the daemon never needs
 * more than the fact, because it reloads everything it depends on.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A directory to watch; with `only`, just the entry of that name (a file or directory yet to appear). */
export interface WatchSpec {
  dir: string;
  only?: string;
}

function key(s: WatchSpec): string {
  return s.only === undefined ? s.dir : `${s.dir}\0${s.only}`;
}

/** The directories under `root` (itself included), not following symbolic links; at most `max`. */
export function walkDirs(root: string, max = 1000): string[] {
  const out = [root];
  for (let i = 0; i < out.length && out.length < max; i++) {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(out[i]!, { withFileTypes: true });
    } catch {
      continue; // vanished or unreadable: the load reports what matters
    }
    for (const e of entries) if (e.isDirectory() && out.length < max) out.push(path.join(out[i]!, e.name));
  }
  return out;
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * What to watch so that any change under `root` is seen: every directory of
 * the tree, or, while `root` does not exist, the nearest directory above it
 * that does, for the creation of the next one down.
 */
export function treeSpecs(root: string): WatchSpec[] {
  if (isDir(root)) return walkDirs(root).map((dir) => ({ dir }));
  let missing = path.resolve(root);
  let parent = path.dirname(missing);
  while (!isDir(parent)) {
    missing = parent;
    parent = path.dirname(parent);
  }
  return [{ dir: parent, only: path.basename(missing) }];
}

/**
 * A file's directory and, if the file is a symbolic link, its target's: a
 * change to the file shows up in one of them (editors replace files by
 * renaming). With `only`, just that file's entries are watched.
 */
export function fileSpecs(file: string, only: boolean): WatchSpec[] {
  const spec = (p: string): WatchSpec => (only ? { dir: path.dirname(p), only: path.basename(p) } : { dir: path.dirname(p) });
  const specs = [spec(file)];
  try {
    const real = fs.realpathSync(file);
    if (real !== file) specs.push(spec(real));
  } catch {
    // missing: the watch on its directory sees it come back
  }
  return specs;
}

export class Watches {
  private watchers = new Map<string, fs.FSWatcher>();

  /** `onChange` is called for every event (possibly many for one change). */
  constructor(private readonly onChange: () => void) {}

  private open(s: WatchSpec, into: Map<string, fs.FSWatcher>): boolean {
    const k = key(s);
    if (into.has(k)) return true;
    let w: fs.FSWatcher;
    try {
      w = fs.watch(s.dir, { persistent: false }, (_event, name) => {
        if (s.only === undefined || name === null || name === s.only) this.onChange();
      });
    } catch {
      return false;
    }
    // a watch that fails (its directory went away) is a change; the next reload watches afresh
    w.on('error', () => {
      w.close();
      this.onChange();
    });
    into.set(k, w);
    return true;
  }

  /**
   * Watch exactly `specs` from now on. New watches start before old ones
   * stop, so no change falls between them. Returns false if some could not
   * be watched (then changes there would go unseen).
   */
  replace(specs: readonly WatchSpec[]): boolean {
    const next = new Map<string, fs.FSWatcher>();
    let ok = true;
    for (const s of specs) ok = this.open(s, next) && ok;
    for (const w of this.watchers.values()) w.close();
    this.watchers = next;
    return ok;
  }

  /** Watch these too; returns false as `replace` does. */
  add(specs: readonly WatchSpec[]): boolean {
    let ok = true;
    for (const s of specs) ok = this.open(s, this.watchers) && ok;
    return ok;
  }

  /** Whether a spec is watched already. */
  has(s: WatchSpec): boolean {
    return this.watchers.has(key(s));
  }

  close(): void {
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}

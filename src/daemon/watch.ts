/**
 * Directory watches (fs.watch, inotify on Linux) that only ever say "something
 * changed". Events may be coalesced or lose details; the daemon never needs
 * more than the fact, because it reads again everything it depends on.
 *
 * inotify watches inodes, not names: a watch on `policy.d` keeps watching the
 * old directory after `mv -T new policy.d` or after a symbolic link on the way
 * is switched. So every path is watched the way the kernel resolves it: each
 * component as an entry of the directory holding it, every symbolic link met
 * on the way as well as what it points to.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A directory to watch; with `only`, just the entry of that name (a file, link or directory, present or yet to appear). */
export interface WatchSpec {
  dir: string;
  only?: string;
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

/** Symbolic links followed before giving up, as the kernel does (ELOOP). */
const MAX_LINKS = 40;

/**
 * What to watch so that any change to what `p` names is seen: every
 * component of the path as an entry of the directory holding it, following
 * symbolic links as the kernel does (the link's entry and then its target's
 * components). A missing component is watched for in the nearest directory
 * that exists. `real` is the path with every link resolved, or null when
 * something on the way is missing (or links loop).
 */
export function pathSpecs(p: string): { specs: WatchSpec[]; real: string | null; isDir: boolean } {
  const specs: WatchSpec[] = [];
  let rest = path.resolve(p).split('/').filter(Boolean);
  let dir = '/';
  let isDir = true;
  for (let links = 0; rest.length > 0; ) {
    const name = rest.shift()!;
    specs.push({ dir, only: name });
    const next = path.join(dir, name);
    let target: string;
    try {
      const st = fs.lstatSync(next);
      if (!st.isSymbolicLink()) {
        dir = next;
        isDir = st.isDirectory();
        continue;
      }
      target = fs.readlinkSync(next);
    } catch {
      // missing (or unreadable, or replaced meanwhile): its directory sees it appear
      return { specs, real: null, isDir: false };
    }
    if (++links > MAX_LINKS) return { specs, real: null, isDir: false };
    // the link's target, then what is left of the path, resolved from the link's directory
    rest = [...path.resolve(dir, target).split('/').filter(Boolean), ...rest];
    dir = '/';
  }
  return { specs, real: dir, isDir };
}

/** A directory tree (a policy root): its path as `pathSpecs` watches it, and every directory under it. */
export function treeSpecs(root: string): WatchSpec[] {
  const { specs, real, isDir } = pathSpecs(root);
  if (real !== null && isDir) specs.push(...walkDirs(real).map((dir) => ({ dir })));
  return specs;
}

/** A file read (or a directory listed, `whole`): its path as `pathSpecs` watches it, and with `whole` the directory's own entries. */
export function fileSpecs(file: string, whole = false): WatchSpec[] {
  const { specs, real } = pathSpecs(file);
  if (whole && real !== null) specs.push({ dir: real });
  return specs;
}

/** One fs.watch per directory, for the names wanted there (null: every entry). */
interface Watched {
  watcher: fs.FSWatcher;
  names: Set<string> | null;
}

export class Watches {
  private watched = new Map<string, Watched>();

  /** `onChange` is called for every event (possibly many for one change). */
  constructor(private readonly onChange: () => void) {}

  /** Watch `s` in `into`: a directory already watched for some names gets this one too. Returns false if it cannot be watched. */
  private open(s: WatchSpec, into: Map<string, Watched>): boolean {
    const have = into.get(s.dir);
    if (have !== undefined) {
      if (s.only === undefined) have.names = null;
      else have.names?.add(s.only);
      return true;
    }
    const entry = { names: s.only === undefined ? null : new Set([s.only]) } as Watched;
    const self = path.basename(s.dir);
    try {
      entry.watcher = fs.watch(s.dir, { persistent: false }, (_event, name) => {
        // no name, or the directory's own name: an event about the directory itself (removed, moved)
        if (entry.names === null || name === null || entry.names.has(name) || name === self) this.onChange();
      });
    } catch {
      return false;
    }
    // a watch that fails (its directory went away) is a change; the next read watches afresh
    entry.watcher.on('error', () => {
      entry.watcher.close();
      this.onChange();
    });
    into.set(s.dir, entry);
    return true;
  }

  /**
   * Watch exactly `specs` from now on. New watches start before old ones
   * stop, so no change falls between them. Returns false if some could not
   * be watched (then changes there would go unseen).
   */
  replace(specs: readonly WatchSpec[]): boolean {
    const next = new Map<string, Watched>();
    let ok = true;
    for (const s of specs) ok = this.open(s, next) && ok;
    for (const w of this.watched.values()) w.watcher.close();
    this.watched = next;
    return ok;
  }

  /** Watch these too; returns false as `replace` does. */
  add(specs: readonly WatchSpec[]): boolean {
    let ok = true;
    for (const s of specs) ok = this.open(s, this.watched) && ok;
    return ok;
  }

  /** Whether a spec is watched already. */
  has(s: WatchSpec): boolean {
    const w = this.watched.get(s.dir);
    return w !== undefined && (w.names === null || (s.only !== undefined && w.names.has(s.only)));
  }

  close(): void {
    for (const w of this.watched.values()) w.watcher.close();
    this.watched.clear();
  }
}

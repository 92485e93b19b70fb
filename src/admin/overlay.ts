/**
 * A FileSource that shows a directory tree as it would be after a change:
 * some files replaced or created (text) and some removed (null), on top of
 * another source (the real file system). Validation loads the whole policy
 * through it before anything is written; the editor and restore preview
 * their changes the same way.
 *
 * Paths are compared after `base.resolve()`, so a file is found whichever
 * way the loader spells it (top-level files by their listed path, includes
 * by their resolved one).
 */
import * as path from 'node:path';
import { FileSourceError, tooLarge, type EntryKind, type FileSource } from '../parser/file-source.js';
import { MAX_FILE_SIZE } from '../parser/limits.js';

export type Overrides = ReadonlyMap<string, string | null>;

export function overlayFileSource(base: FileSource, changes: Iterable<[string, string | null]>): FileSource {
  const files = new Map<string, string | null>();
  /** Directories that hold a created file (they exist, if only in the overlay). */
  const dirs = new Set<string>();
  for (const [p, content] of changes) {
    const abs = base.resolve(p);
    files.set(abs, content);
    if (content !== null) for (let d = path.dirname(abs); !dirs.has(d) && d !== path.dirname(d); d = path.dirname(d)) dirs.add(d);
  }
  return {
    kind(p): EntryKind {
      const abs = base.resolve(p);
      const f = files.get(abs);
      if (f !== undefined) return f === null ? 'missing' : 'file';
      const k = base.kind(p);
      return k === 'missing' && dirs.has(abs) ? 'dir' : k;
    },
    list(dir) {
      const abs = base.resolve(dir);
      let names: string[];
      try {
        names = base.list(dir);
      } catch (err) {
        if (!(err instanceof FileSourceError && err.kind === 'missing' && dirs.has(abs))) throw err;
        names = [];
      }
      const out = new Set(names);
      for (const d of dirs) if (path.dirname(d) === abs) out.add(path.basename(d));
      for (const [p, content] of files) {
        if (path.dirname(p) !== abs) continue;
        if (content === null) out.delete(path.basename(p));
        else out.add(path.basename(p));
      }
      return [...out];
    },
    read(file) {
      const f = files.get(base.resolve(file));
      if (f === undefined) return base.read(file);
      if (f === null) throw new FileSourceError(file, 'does not exist (removed by this change)', 'missing');
      if (Buffer.byteLength(f) > MAX_FILE_SIZE) throw tooLarge(file);
      return f;
    },
    resolve: (p) => base.resolve(p),
  };
}

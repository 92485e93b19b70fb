/**
 * What one read of the policy (or the system-info file) looked at, so that
 * the read can be judged afterwards (cache.ts):
 * - every path stat()ed, listed or read, with its signature (device, inode,
 *   type, size, modification and change times, following links), and every
 *   path resolved, with where it led;
 * - `unchanged()` looks at them all again: if each is as it was when it was
 *   read, the files read were all, at that moment, the tree as it is now,
 *   so no read mixed two versions of it;
 * - `newestChangeMs` is the latest change time (ctime: set by every write,
 *   rename, link or removal in a directory, and not by reading) among them,
 *   which says how long the tree has been quiet, including places no watch
 *   covered yet (a directory created during the change).
 */
import * as fs from 'node:fs';
import { describeIo } from '../errors.js';
import { nodeFileSource, type FileSource } from '../parser/file-source.js';

export class Snapshot {
  private readonly seen = new Map<string, string>();
  /** Newest ctime among everything looked at, in ms since the epoch (0: nothing found). */
  newestChangeMs = 0;
  /** A path looked at twice during the read was different the second time. */
  private torn = false;

  private signature(p: string): string {
    try {
      const s = fs.statSync(p, { bigint: true });
      const ctimeMs = Number(s.ctimeNs / 1_000_000n);
      if (ctimeMs > this.newestChangeMs) this.newestChangeMs = ctimeMs;
      return `${s.dev}:${s.ino}:${s.mode}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
    } catch (err) {
      return describeIo(err);
    }
  }

  private where(p: string): string {
    try {
      return fs.realpathSync(p);
    } catch (err) {
      return describeIo(err);
    }
  }

  private note(key: string, value: string): void {
    const before = this.seen.get(key);
    if (before === undefined) this.seen.set(key, value);
    else if (before !== value) this.torn = true;
  }

  /** Remember what `p` is now (before it is read or listed). */
  stat(p: string): void {
    this.note(`s\0${p}`, this.signature(p));
  }

  /** Remember where `p` leads now (before it is used by its resolved name). */
  resolve(p: string): void {
    this.note(`r\0${p}`, this.where(p));
  }

  /** Whether everything looked at is still exactly as it was. */
  unchanged(): boolean {
    if (this.torn) return false;
    for (const [key, value] of this.seen) {
      const p = key.slice(2);
      if ((key[0] === 's' ? this.signature(p) : this.where(p)) !== value) return false;
    }
    return true;
  }

  /** `base`, with everything it looks at remembered here first. */
  source(base: FileSource = nodeFileSource): FileSource {
    return {
      kind: (p) => {
        this.stat(p);
        return base.kind(p);
      },
      list: (dir) => {
        this.stat(dir);
        return base.list(dir);
      },
      read: (file) => {
        this.stat(file);
        return base.read(file);
      },
      resolve: (p) => {
        this.resolve(p);
        return base.resolve(p);
      },
    };
  }
}

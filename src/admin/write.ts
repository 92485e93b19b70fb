/**
 * Durable, atomic changes to a policy file: the new content goes to a
 * temporary file in the same directory (its name starts with '.', which
 * every loader ignores), is fsync'ed, renamed over the file, and the
 * directory is fsync'ed, so a reader sees the old file or the new one and
 * a crash keeps one of them. Files are mode 0664, group `qubes` when that
 * group exists (as Qubes writes them). The caller holds the directory lock.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Temporary files of this writer; any found while holding the lock are a dead writer's leftovers. */
export const TEMP_PREFIX = '.qubes-policy-admin-';
const TEMP_SUFFIX = '.tmp';

export const POLICY_GROUP = 'qubes';
export const FILE_MODE = 0o664;

/** The gid of a group in an /etc/group-format file, or null. */
export function groupId(name: string, groupFile = '/etc/group'): number | null {
  let text: string;
  try {
    text = fs.readFileSync(groupFile, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const [n, , gid] = line.split(':');
    if (n === name && gid !== undefined && /^[0-9]+$/.test(gid)) return Number(gid);
  }
  return null;
}

export interface WriteOptions {
  /** Group of the written file (null: leave the writer's). */
  gid: number | null;
  /** Called after the data is durable and before the rename (tests: crash there). */
  beforeRename?: (() => void) | undefined;
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Remove temporary files that a killed writer left in `dir` (call while holding the lock). */
export function removeLeftovers(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const gone = names.filter((n) => n.startsWith(TEMP_PREFIX) && n.endsWith(TEMP_SUFFIX));
  for (const n of gone) fs.rmSync(path.join(dir, n), { force: true });
  return gone;
}

/** Replace (or create) `file` with `data`, atomically and durably. */
export function writeFileAtomic(file: string, data: Uint8Array, opts: WriteOptions): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, TEMP_PREFIX + randomBytes(8).toString('hex') + TEMP_SUFFIX);
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
  let renamed = false;
  try {
    try {
      fs.writeSync(fd, data);
      // the creation mode went through the umask; set it exactly
      fs.fchmodSync(fd, FILE_MODE);
      if (opts.gid !== null) {
        try {
          // -1: the owner stays the writer (root in dom0)
          fs.fchownSync(fd, -1, opts.gid);
          /* c8 ignore next 4 -- not root (tests run as root, as the service does in dom0) */
        } catch (err) {
          // only root may give a file to a group it is not in; the file stays the writer's
          if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
        }
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    opts.beforeRename?.();
    fs.renameSync(tmp, file);
    renamed = true;
    fsyncDir(dir);
  } finally {
    if (!renamed) fs.rmSync(tmp, { force: true });
  }
}

/** Remove `file`, durably. */
export function removeFileDurable(file: string): void {
  fs.unlinkSync(file);
  fsyncDir(path.dirname(file));
}

/** Create a missing directory with the mode and group of its parent (the include directory). */
export function ensureDirLike(dir: string, like: string): void {
  if (fs.existsSync(dir)) return;
  const st = fs.statSync(like);
  fs.mkdirSync(dir, { mode: st.mode & 0o7777 });
  // mkdir's mode went through the umask
  fs.chmodSync(dir, st.mode & 0o7777);
  try {
    fs.chownSync(dir, st.uid, st.gid);
    /* c8 ignore next 3 -- not root (tests run as root, as the service does in dom0) */
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
  }
  fsyncDir(like);
}

/**
 * The small file-system interface the loaders use, so tests (and tools such
 * as fmt's "parse before and after") can feed in-memory files. Paths are
 * POSIX paths; symbolic links are followed as the reference does.
 */
// named imports: a namespace import of a built-in costs the per-call bundle a copy of every export (~0.1 ms and ~10 KB each)
import { lstatSync, readFileSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { describeIo } from '../errors.js';
import { MAX_FILE_SIZE } from './limits.js';

export type EntryKind = 'file' | 'dir' | 'other' | 'missing';

/** A file or directory that cannot be read: `PATH: PROBLEM` (`policy.d/x.policy: does not exist`). */
export class FileSourceError extends Error {
  constructor(
    readonly path: string,
    /** What is wrong, without the path (for messages that name it already). */
    readonly problem: string,
    readonly kind: 'missing' | 'encoding' | 'io' | 'too-large',
  ) {
    super(`${path}: ${problem}`);
  }
}

/** A FileSourceError for a failed system call on `p`. */
export function ioError(p: string, err: unknown): FileSourceError {
  return new FileSourceError(p, describeIo(err), (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'io');
}

/** A file larger than the loader reads. */
export function tooLarge(file: string): FileSourceError {
  return new FileSourceError(file, `larger than ${MAX_FILE_SIZE} bytes`, 'too-large');
}

export interface FileSource {
  /** What `p` names after following links. */
  kind(p: string): EntryKind;
  /** Names in a directory (unsorted). Throws FileSourceError. */
  list(dir: string): string[];
  /**
   * The same names, each with its kind where the listing tells it without a
   * stat (a regular file, a directory; `undefined` for a link or anything
   * else: ask kind()). Optional: a loader uses list() and kind() without it.
   */
  listKinds?(dir: string): Array<[name: string, kind: EntryKind | undefined]>;
  /** A file's text; must be valid UTF-8. Throws FileSourceError. */
  read(file: string): string;
  /**
   * Absolute path with links resolved as the kernel resolves them, as far as
   * they exist: `lnk/..` is the directory above the link's target, not the
   * directory holding `lnk` (Python's `Path.resolve()`, as Qubes uses it).
   */
  resolve(p: string): string;
}

/**
 * `rel` relative to `base` as Python's pathlib joins them: `.` and repeated
 * slashes go, `..` stays (folding it as text would skip a link the kernel
 * follows); an absolute `rel` stands alone.
 */
export function joinPath(base: string, rel: string): string {
  const joined = rel.startsWith('/') ? rel : `${base}/${rel}`;
  const parts = joined.split('/').filter((c) => c !== '' && c !== '.');
  if (joined.startsWith('/')) return '/' + parts.join('/');
  return parts.length ? parts.join('/') : '.';
}

/** The components of a path, as the kernel walks them (empty ones dropped). */
function components(p: string): string[] {
  return p.split('/').filter((c) => c !== '');
}

// ignoreBOM keeps a leading U+FEFF in the text: Qubes reads it as part of the first line;
// made when first needed (making one costs a per-call process ~0.15 ms, and most calls need none)
let utf8: InstanceType<typeof TextDecoder> | undefined;

/** Decode bytes as strict UTF-8 (a policy file with bad bytes is an error, not mojibake). */
export function decodeUtf8(bytes: Uint8Array, name: string): string {
  try {
    return (utf8 ??= new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })).decode(bytes);
  } catch {
    throw new FileSourceError(name, 'not valid UTF-8', 'encoding');
  }
}


export const nodeFileSource: FileSource = {
  kind(p) {
    try {
      const st = statSync(p);
      return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
    } catch {
      return 'missing';
    }
  },
  list(dir) {
    try {
      return readdirSync(dir);
    } catch (err) {
      throw ioError(dir, err);
    }
  },
  listKinds(dir) {
    try {
      return readdirSync(dir, { withFileTypes: true }).map((e) => [e.name, e.isFile() ? 'file' : e.isDirectory() ? 'dir' : undefined]);
    } catch (err) {
      throw ioError(dir, err);
    }
  },
  read(file) {
    try {
      // refuse an oversized file before reading it into memory
      if (statSync(file).size > MAX_FILE_SIZE) throw tooLarge(file);
      return readFileText(file, (bytes) => decodeUtf8(bytes, file));
    } catch (err) {
      if (err instanceof FileSourceError) throw err;
      throw ioError(file, err);
    }
  },
  resolve(p) {
    // relative to the working directory, still unfolded: realpath(3) walks `..` after links itself
    const abs = joinPath(process.cwd(), p);
    try {
      return realpathSync.native(abs);
    } catch {
      // something is missing: walk it as Python's Path.resolve(strict=False) does
      return resolveLoosely(abs);
    }
  },
};

/**
 * A file's text, opened, read and decoded by Node in one call (a per-call
 * process reads dozens of files). That decoder turns bad bytes into U+FFFD:
 * only a U+FFFD in the text (a bad byte, or one written) has the bytes read
 * again and decoded by `strict`. Throws what the reads and `strict` throw.
 */
export function readFileText(file: string, strict: (bytes: Buffer) => string): string {
  const text = readFileSync(file, 'utf8');
  return text.includes('\ufffd') ? strict(readFileSync(file)) : text;
}

/**
 * Resolve every component that exists, following links where the kernel
 * would and keeping missing components (and a link loop) as text, as
 * Python's non-strict realpath does.
 */
function resolveLoosely(abs: string): string {
  const done = new Map<string, string | null>();
  const walk = (resolved: string, rest: string[]): { path: string; stopped: boolean } => {
    for (let i = 0; i < rest.length; i++) {
      const comp = rest[i]!;
      if (comp === '.') continue;
      if (comp === '..') {
        resolved = posix.dirname(resolved);
        continue;
      }
      const next = resolved === '/' ? `/${comp}` : `${resolved}/${comp}`;
      let target: string;
      try {
        if (!lstatSync(next).isSymbolicLink()) {
          resolved = next;
          continue;
        }
        target = readlinkSync(next);
      } catch {
        resolved = next;
        continue;
      }
      const known = done.get(next);
      if (known !== undefined) {
        // a link met again: resolved before, or a loop (left unresolved from here on)
        if (known === null) return { path: posix.join(next, ...rest.slice(i + 1)), stopped: true };
        resolved = known;
        continue;
      }
      done.set(next, null);
      const inner = walk(target.startsWith('/') ? '/' : resolved, components(target));
      if (inner.stopped) return { path: posix.join(inner.path, ...rest.slice(i + 1)), stopped: true };
      done.set(next, inner.path);
      resolved = inner.path;
    }
    return { path: resolved, stopped: false };
  };
  return walk('/', components(abs)).path;
}

/** How standard input is named where a file name is shown. */
export const STDIN_NAME = '<stdin>';

/** `base` with in-memory files laid over it (standard input as STDIN_NAME), found by the path given. */
export function withFiles(base: FileSource, files: ReadonlyMap<string, string>): FileSource {
  return {
    kind: (p) => (files.has(p) ? 'file' : base.kind(p)),
    list: (dir) => base.list(dir),
    read: (file) => files.get(file) ?? base.read(file),
    resolve: (p) => (files.has(p) ? p : base.resolve(p)),
  };
}

/**
 * In-memory files for tests: `{ '/p/30-user.policy': '...' }`. Directories
 * exist implicitly above every file, plus any listed in `dirs`.
 */
export function memoryFileSource(files: Record<string, string>, dirs: string[] = []): FileSource {
  const fileMap = new Map<string, string>();
  const dirSet = new Set<string>(['/']);
  const addDirs = (p: string) => {
    for (let d = posix.dirname(p); !dirSet.has(d); d = posix.dirname(d)) dirSet.add(d);
  };
  for (const [p, content] of Object.entries(files)) {
    const abs = posix.resolve('/', p);
    fileMap.set(abs, content);
    addDirs(abs);
  }
  for (const d of dirs) {
    const abs = posix.resolve('/', d);
    dirSet.add(abs);
    addDirs(abs);
  }
  return {
    kind(p) {
      const abs = posix.resolve('/', p);
      return fileMap.has(abs) ? 'file' : dirSet.has(abs) ? 'dir' : 'missing';
    },
    list(dir) {
      const abs = posix.resolve('/', dir);
      if (!dirSet.has(abs)) throw new FileSourceError(dir, 'does not exist', 'missing');
      const names = new Set<string>();
      for (const p of [...fileMap.keys(), ...dirSet]) {
        if (p !== abs && posix.dirname(p) === abs) names.add(posix.basename(p));
      }
      return [...names];
    },
    read(file) {
      const abs = posix.resolve('/', file);
      const content = fileMap.get(abs);
      if (content === undefined) throw new FileSourceError(file, 'does not exist', 'missing');
      if (Buffer.byteLength(content) > MAX_FILE_SIZE) throw tooLarge(file);
      return content;
    },
    resolve(p) {
      return posix.resolve('/', p);
    },
  };
}

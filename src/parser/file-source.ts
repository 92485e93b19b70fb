/**
 * The small file-system interface the loaders use, so tests (and tools such
 * as fmt's "parse before and after") can feed in-memory files. Paths are
 * POSIX paths; symbolic links are followed as the reference does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAX_FILE_SIZE } from './limits.js';

export type EntryKind = 'file' | 'dir' | 'other' | 'missing';

export class FileSourceError extends Error {
  constructor(
    message: string,
    readonly kind: 'missing' | 'encoding' | 'io' | 'too-large',
  ) {
    super(message);
  }
}

export interface FileSource {
  /** What `p` names after following links. */
  kind(p: string): EntryKind;
  /** Names in a directory (unsorted). Throws FileSourceError. */
  list(dir: string): string[];
  /** A file's text; must be valid UTF-8. Throws FileSourceError. */
  read(file: string): string;
  /** Absolute, normalised path with links resolved as far as they exist. */
  resolve(p: string): string;
}

// ignoreBOM keeps a leading U+FEFF in the text: Qubes reads it as part of the first line
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decode bytes as strict UTF-8 (a policy file with bad bytes is an error, not mojibake). */
export function decodeUtf8(bytes: Uint8Array, name: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new FileSourceError(`${name}: not valid UTF-8`, 'encoding');
  }
}

/** File-system errors carry an errno code (ENOENT, EACCES, EISDIR, …). */
/** The errno code of a failed system call (ENOENT, EACCES, …), for one-line messages. */
export function describeIo(err: unknown): string {
  return String((err as NodeJS.ErrnoException).code);
}

export const nodeFileSource: FileSource = {
  kind(p) {
    try {
      const st = fs.statSync(p);
      return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
    } catch {
      return 'missing';
    }
  },
  list(dir) {
    try {
      return fs.readdirSync(dir);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new FileSourceError(`cannot list ${dir}: ${describeIo(err)}`, e.code === 'ENOENT' ? 'missing' : 'io');
    }
  },
  read(file) {
    let bytes: Buffer;
    let fd: number | undefined;
    try {
      fd = fs.openSync(file, 'r');
      // refuse an oversized file before reading it into memory
      const size = fs.fstatSync(fd).size;
      if (size > MAX_FILE_SIZE) throw new FileSourceError(`${file}: larger than ${MAX_FILE_SIZE} bytes`, 'too-large');
      bytes = fs.readFileSync(fd);
    } catch (err) {
      if (err instanceof FileSourceError) throw err;
      const e = err as NodeJS.ErrnoException;
      throw new FileSourceError(`cannot read ${file}: ${describeIo(err)}`, e.code === 'ENOENT' ? 'missing' : 'io');
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    return decodeUtf8(bytes, file);
  },
  resolve(p) {
    const abs = path.resolve(p);
    try {
      return fs.realpathSync(abs);
    } catch {
      // like Python's Path.resolve(strict=False): resolve the part that exists
      const parent = path.dirname(abs);
      /* c8 ignore next -- the root itself always resolves */
      if (parent === abs) return abs;
      return path.join(this.resolve(parent), path.basename(abs));
    }
  },
};

/**
 * In-memory files for tests: `{ '/p/30-user.policy': '...' }`. Directories
 * exist implicitly above every file, plus any listed in `dirs`.
 */
export function memoryFileSource(files: Record<string, string>, dirs: string[] = []): FileSource {
  const fileMap = new Map<string, string>();
  const dirSet = new Set<string>(['/']);
  const addDirs = (p: string) => {
    for (let d = path.posix.dirname(p); !dirSet.has(d); d = path.posix.dirname(d)) dirSet.add(d);
  };
  for (const [p, content] of Object.entries(files)) {
    const abs = path.posix.resolve('/', p);
    fileMap.set(abs, content);
    addDirs(abs);
  }
  for (const d of dirs) {
    const abs = path.posix.resolve('/', d);
    dirSet.add(abs);
    addDirs(abs);
  }
  return {
    kind(p) {
      const abs = path.posix.resolve('/', p);
      return fileMap.has(abs) ? 'file' : dirSet.has(abs) ? 'dir' : 'missing';
    },
    list(dir) {
      const abs = path.posix.resolve('/', dir);
      if (!dirSet.has(abs)) throw new FileSourceError(`cannot list ${dir}: ENOENT`, 'missing');
      const names = new Set<string>();
      for (const p of [...fileMap.keys(), ...dirSet]) {
        if (p !== abs && path.posix.dirname(p) === abs) names.add(path.posix.basename(p));
      }
      return [...names];
    },
    read(file) {
      const abs = path.posix.resolve('/', file);
      const content = fileMap.get(abs);
      if (content === undefined) throw new FileSourceError(`cannot read ${file}: ENOENT`, 'missing');
      if (Buffer.byteLength(content) > MAX_FILE_SIZE) throw new FileSourceError(`${file}: larger than ${MAX_FILE_SIZE} bytes`, 'too-large');
      return content;
    },
    resolve(p) {
      return path.posix.resolve('/', p);
    },
  };
}

/**
 * Command-line paths → what to load. A directory is a `policy.d` tree; files
 * are grouped by directory (each group loads in byte order, like a policy
 * directory restricted to those files); arguments with glob characters are
 * expanded with minimatch over the file system.
 */
import * as path from 'node:path';
import { minimatch, Minimatch } from 'minimatch';
import { FileSourceError, type FileSource } from '../parser/file-source.js';
import { looksLikePolicyFile } from '../parser/loader.js';
import { byteCompare } from '../parser/text.js';
import { expected } from '../errors.js';
import type { TreeSpec } from './tree.js';

/** Directory levels a `**` walks at most (symbolic links to directories are not followed). */
const MAX_DEPTH = 32;

/** A directory's entries in byte order; none when it cannot be listed (the loader reports that). */
export function listSorted(fs: FileSource, dir: string): string[] {
  try {
    return fs.list(dir).sort(byteCompare);
  } catch (err) {
    expected(err, FileSourceError);
    return [];
  }
}

/** Every path below `base` (up to `depth` levels) that matches `pattern`. */
function walk(fs: FileSource, base: string, pattern: string, depth: number, out: string[]): void {
  if (depth === 0) return;
  for (const name of listSorted(fs, base)) {
    const p = base === '.' ? name : path.join(base, name);
    if (minimatch(p, pattern)) out.push(p);
    if (fs.kind(p) === 'dir' && fs.resolve(p) !== fs.resolve(base)) walk(fs, p, pattern, depth - 1, out);
  }
}

/** A glob's matches, or the argument itself when it has no glob characters. */
export function expandArg(fs: FileSource, arg: string): string[] {
  if (!new Minimatch(arg).hasMagic()) return [arg];
  const parts = arg.split('/');
  let i = 0;
  while (i < parts.length - 1 && !new Minimatch(parts[i]!).hasMagic()) i++;
  const base = parts.slice(0, i).join('/') || (arg.startsWith('/') ? '/' : '.');
  const rest = parts.slice(i);
  const out: string[] = [];
  walk(fs, base, path.normalize(arg), rest.includes('**') ? MAX_DEPTH : rest.length, out);
  return out;
}

export interface Inputs {
  specs: TreeSpec[];
  /** Arguments that name nothing (or globs that match nothing). */
  missing: string[];
}

/** Group the arguments into trees: each directory alone, files by their directory. */
export function collectInputs(fs: FileSource, args: readonly string[]): Inputs {
  const dirs: string[] = [];
  const files = new Map<string, string[]>();
  const missing: string[] = [];
  for (const arg of args) {
    const matches = expandArg(fs, arg)
      .map((p) => path.normalize(p))
      .filter((p) => ['file', 'dir'].includes(fs.kind(p)));
    if (matches.length === 0) missing.push(arg);
    for (const p of matches) {
      if (fs.kind(p) === 'dir') {
        if (!dirs.includes(p)) dirs.push(p);
        continue;
      }
      const dir = path.dirname(p);
      const group = files.get(dir) ?? [];
      if (!group.includes(p)) group.push(p);
      files.set(dir, group);
    }
  }
  const specs: TreeSpec[] = dirs.map((d) => ({ kind: 'dirs', dirs: [d] }));
  for (const [dir, group] of files) {
    group.sort((a, b) => byteCompare(path.basename(a), path.basename(b)));
    const all = listSorted(fs, dir).filter((n) => looksLikePolicyFile(n) && fs.kind(path.join(dir, n)) === 'file');
    const partial = !all.every((n) => group.includes(path.join(dir, n))) || group.length !== all.length;
    specs.push({ kind: 'files', dir, files: group, partial });
  }
  return { specs, missing };
}

/**
 * The files an argument names, for commands that read files one by one
 * (fmt, test): itself, its glob matches, or a directory's files whose names
 * `wanted` accepts, in byte order. A directory that cannot be listed is an
 * error naming it.
 */
export function namedFiles(fs: FileSource, arg: string, wanted: (name: string) => boolean): { files: string[]; errors: string[] } {
  const files: string[] = [];
  const errors: string[] = [];
  for (const p of expandArg(fs, arg)) {
    const kind = fs.kind(p);
    if (kind === 'file') files.push(p);
    if (kind !== 'dir') continue;
    let names: string[];
    try {
      names = fs.list(p).sort(byteCompare);
    } catch (err) {
      expected(err, FileSourceError);
      errors.push(err.message);
      continue;
    }
    for (const n of names) if (wanted(n) && fs.kind(path.join(p, n)) === 'file') files.push(path.join(p, n));
  }
  return { files, errors };
}

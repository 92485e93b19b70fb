/**
 * Loading a policy tree for lint with the real loader, observed through a
 * FileSource wrapper: it keeps every text read (for comments and columns),
 * notes where `!compat-4.0` met a missing default legacy directory, and on a
 * second pass hides files whose invalid names made the loader give up, so
 * that the other files are still checked.
 */
import * as path from 'node:path';
import { PolicyError } from '../parser/errors.js';
import type { FileSource } from '../parser/file-source.js';
import { isValidPolicyFileName, looksLikePolicyFile, PolicyLoader } from '../parser/loader.js';
import type { Rule } from '../parser/rule.js';

/**
 * What to load: `policy.d` directories (merged by basename), or chosen files
 * of one directory (`partial` when they are not all its policy files: other
 * files could come between them).
 */
export type TreeSpec = { kind: 'dirs'; dirs: string[] } | { kind: 'files'; dir: string; files: string[]; partial: boolean };

export interface TreeOptions {
  fs: FileSource;
  legacyPath: string;
  /** The legacy path was the default, not chosen: a missing one means "not checked", not an error. */
  legacyDefault: boolean;
}

export interface LintTree {
  spec: TreeSpec;
  rules: Rule[];
  errors: PolicyError[];
  /** `!compat-4.0` directives not followed (missing default legacy dir), as notes. */
  unchecked: PolicyError[];
  /** Rule indexes before which unknown (unchecked legacy) rules would be inserted. */
  barriers: number[];
  /** Text of every file read, by the path the loader used. */
  texts: Map<string, string>;
  /** Directories this tree's own files live in (policy dirs, the legacy dir when read). */
  roots: string[];
  /** Files and directories the loader read or listed, as resolved paths. */
  reached: string[];
}

interface Observer {
  texts: Map<string, string>;
  hidden: ReadonlySet<string>;
  listed: string[];
  onList: (dir: string) => void;
}

function observe(base: FileSource, o: Observer): FileSource {
  return {
    kind: (p) => base.kind(p),
    resolve: (p) => base.resolve(p),
    read(file) {
      const text = base.read(file);
      o.texts.set(file, text);
      return text;
    },
    list(dir) {
      o.onList(dir);
      const names = base.list(dir);
      o.listed.push(dir);
      return names.filter((n) => !o.hidden.has(path.join(dir, n)));
    },
  };
}

/** The default legacy directory is missing: what `!compat-4.0` would insert is unknown, not an error. */
function legacyUnknown(opts: TreeOptions): boolean {
  return opts.legacyDefault && opts.fs.kind(opts.legacyPath) === 'missing';
}

function loadOnce(spec: TreeSpec, opts: TreeOptions, hidden: ReadonlySet<string>) {
  const barriers: number[] = [];
  const legacyMissing = legacyUnknown(opts);
  const obs: Observer = {
    texts: new Map(),
    hidden,
    listed: [],
    // the loader exists by the time it lists a directory
    onList: (dir) => {
      if (legacyMissing && dir === opts.legacyPath) barriers.push(loader.result.rules.length);
    },
  };
  const fs = observe(opts.fs, obs);
  const loader = new PolicyLoader({ fs, legacyPath: opts.legacyPath });
  if (spec.kind === 'dirs') loader.loadDirs(spec.dirs);
  else
    for (const file of spec.files) {
      if (spec.partial) barriers.push(loader.result.rules.length);
      loader.loadPolicyFile(file, { baseDir: spec.dir, stack: [fs.resolve(file)], inLegacy: false });
    }
  return { result: loader.result, barriers, obs };
}

export function loadTree(spec: TreeSpec, opts: TreeOptions): LintTree {
  let { result, barriers, obs } = loadOnce(spec, opts, new Set());
  const badNames = result.errors.filter((e) => e.id === 'file-name');
  if (badNames.length) {
    // the loader gives up on a directory with a bad name; look at the rest anyway
    ({ result, barriers, obs } = loadOnce(spec, opts, new Set(badNames.map((e) => e.file!))));
    result.errors.unshift(...badNames);
  }
  // chosen files are loaded whatever their names; a policy directory would refuse these
  const errors: PolicyError[] = (spec.kind === 'files' ? spec.files : [])
    .filter((f) => looksLikePolicyFile(path.basename(f)) && !isValidPolicyFileName(path.basename(f)))
    .map((f) => new PolicyError('file-name', `invalid filename: ${f} (allowed characters: 0-9 a-z _ . -)`, f, null));
  const unchecked: PolicyError[] = [];
  const legacyMissing = legacyUnknown(opts);
  for (const e of result.errors) (legacyMissing && e.id === 'legacy-dir' ? unchecked : errors).push(e);
  const legacyRead = obs.listed.includes(opts.legacyPath);
  const roots = [...(spec.kind === 'dirs' ? spec.dirs : [spec.dir]), ...(legacyRead ? [opts.legacyPath] : [])];
  return {
    spec,
    rules: result.rules,
    errors,
    unchecked,
    barriers,
    texts: obs.texts,
    roots,
    reached: [...result.files, ...result.dirs],
  };
}

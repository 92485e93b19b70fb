/**
 * Reading an R4.0 policy directory exactly as `!compat-4.0` does: the real
 * loader loads it (through a one-line stand-in policy file holding the
 * directive), so the rules, their order, the inlined `$include:` files and
 * the implicit denies are the ones evaluation uses. The rules are then
 * grouped by the legacy file they belong to.
 */
import * as path from 'node:path';
import { PolicyError } from '../parser/errors.js';
import type { FileSource } from '../parser/file-source.js';
import { listLegacyDir, PolicyLoader, type LegacyEntry } from '../parser/loader.js';
import type { Rule } from '../parser/rule.js';

export interface LegacySection {
  entry: LegacyEntry;
  /** The file as its rules name it (links resolved). */
  own: string;
  /** The file's rules in order: its own, those of files it includes, then the implicit denies. */
  rules: Rule[];
}

export interface LegacyLoad {
  dir: string;
  /** `dir` with links resolved, as the rules of included files name it. */
  base: string;
  sections: LegacySection[];
  /** Everything that stops the directory from loading (then every call would be denied). */
  errors: PolicyError[];
  /** Files `!compat-4.0` passes over, with the reason. */
  skipped: string[];
  /** The text of every file read, by path (for carrying comments over). */
  texts: ReadonlyMap<string, string>;
}

/** A name no listing returns (legacy names starting with `.` are never policy). */
const STAND_IN = '.qrexec-legacy-convert.policy';

export function loadLegacyDir(dir: string, fs: FileSource): LegacyLoad {
  const texts = new Map<string, string>();
  const listing = listLegacyDir(fs, dir);
  const base = fs.resolve(dir);
  if ('error' in listing)
    return { dir, base, sections: [], errors: [new PolicyError('legacy-dir', listing.error, null, null)], skipped: [], texts };
  const standIn = path.join(dir, STAND_IN);
  const recording: FileSource = {
    kind: (p) => fs.kind(p),
    list: (d) => fs.list(d),
    resolve: (p) => fs.resolve(p),
    read: (file) => {
      const text = file === standIn ? '!compat-4.0\n' : fs.read(file);
      texts.set(file, text);
      return text;
    },
  };
  const loader = new PolicyLoader({ fs: recording, legacyPath: dir });
  loader.loadPolicyFile(standIn, { baseDir: dir, stack: [standIn], inLegacy: false });
  const { rules, errors } = loader.result;
  texts.delete(standIn);

  const sections: LegacySection[] = [];
  let i = 0;
  for (const entry of listing.entries) {
    const section: LegacySection = { entry, own: fs.resolve(entry.file), rules: [] };
    // the loader reads the entries in this order, and every rule carries its entry's service and argument
    while (i < rules.length && rules[i]!.service === entry.service && rules[i]!.argument === entry.argument) section.rules.push(rules[i++]!);
    sections.push(section);
  }
  /* c8 ignore next -- every rule belongs to the entry it was loaded for */
  if (i !== rules.length) throw new Error(`legacy rules out of order at ${rules[i]!.file}:${rules[i]!.line}`);
  return { dir, base, sections, errors, skipped: listing.skipped, texts };
}

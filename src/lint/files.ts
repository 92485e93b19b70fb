/**
 * File-level findings: files in a policy directory that look like policy but
 * will be ignored, R4.0 files skipped for their names, and includes that
 * reach outside the tree's directories.
 */
import * as path from 'node:path';
import type { FileSource } from '../parser/file-source.js';
import { isIgnoredLegacyName, looksLikePolicyFile } from '../parser/loader.js';
import { readDirective } from '../parser/directives.js';
import { CHARSET, pyStrip } from '../parser/text.js';
import { listSorted } from './inputs.js';
import type { Sources } from './locate.js';
import { finding, type Finding } from './finding.js';
import type { LintTree } from './tree.js';

/** Why a directory entry that looks like policy is ignored, or null. */
export function ignoredReason(name: string, kind: string): string | null {
  if (looksLikePolicyFile(name)) return kind === 'file' ? null : 'it is not a regular file';
  if (name.startsWith('.') && name.toLowerCase().includes('.policy')) return 'names starting with . are ignored';
  if (name.toLowerCase().includes('.policy')) return 'only names ending in .policy are loaded';
  if (/^[0-9]+-/.test(name) && kind === 'file') return 'it looks like a policy file but only names ending in .policy are loaded';
  return null;
}

/** Entries of the tree's policy directories (and its R4.0 directory) that will be ignored. */
export function ignoredFiles(tree: LintTree, fs: FileSource, legacyPath: string): Finding[] {
  const out: Finding[] = [];
  const dirs = tree.spec.kind === 'dirs' ? tree.spec.dirs : [];
  for (const dir of dirs) {
    if (fs.kind(dir) !== 'dir') continue;
    for (const name of listSorted(fs, dir)) {
      const file = path.join(dir, name);
      const why = ignoredReason(name, fs.kind(file));
      if (why !== null) out.push(finding('file-ignored', `${name} will be ignored: ${why}`, file, null, null));
    }
  }
  if (tree.roots.includes(legacyPath)) {
    for (const name of listSorted(fs, legacyPath)) {
      const file = path.join(legacyPath, name);
      if (isIgnoredLegacyName(name) || CHARSET.rpcname.test(name) || fs.kind(file) !== 'file') continue;
      out.push(
        finding('file-ignored', `${name} will be ignored: R4.0 file names use only A-Z a-z 0-9 - . _ +`, file, null, null),
      );
    }
  }
  return out;
}

function inside(p: string, dir: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** An include directive (policy.d or service-file syntax): its words and the path's column. */
function parseInclude(line: string): { words: string[]; p: string; column: number } | null {
  const { text, offset } = pyStrip(line);
  const service = text.startsWith('$include:');
  if (!service && !text.startsWith('!')) return null;
  const d = readDirective(service ? '!include ' + text.slice('$include:'.length) : text, offset, service ? 'service' : 'policy');
  if (!d.ok || d.name === '!compat-4.0') return null;
  const last = d.params[d.params.length - 1]!;
  return { words: [d.word.text, ...d.params.map((f) => f.text)], p: last.text, column: last.column };
}

/** Every include directive of the tree's files, in load order, with its target resolved against `base(file)`. */
function includes(tree: LintTree, fs: FileSource, sources: Sources, base: (file: string) => string[]) {
  const out: Array<{ file: string; line: number; column: number; words: string[]; p: string; targets: string[] }> = [];
  for (const file of tree.texts.keys()) {
    sources.linesOf(file).forEach((line, i) => {
      const inc = parseInclude(line);
      if (inc !== null)
        out.push({ file, line: i + 1, column: inc.column, words: inc.words, p: inc.p, targets: base(file).map((r) => fs.resolve(path.resolve(r, inc.p))) });
    });
  }
  return out;
}

/** Include directives whose target (as the loader reached it) lies outside every directory of the tree. */
export function includesOutside(tree: LintTree, fs: FileSource, sources: Sources): Finding[] {
  const roots = tree.roots.map((r) => fs.resolve(r));
  const outside = new Set(tree.reached.map((p) => fs.resolve(p)).filter((p) => !roots.some((r) => inside(p, r))));
  if (outside.size === 0) return [];
  return includes(tree, fs, sources, () => tree.roots)
    .filter((inc) => inc.targets.some((t) => outside.has(t)))
    .map((inc) => finding('include-outside', `${inc.p} is outside the policy directory`, inc.file, inc.line, inc.column));
}

/**
 * `!include-service` of the same service, argument and file twice: its rules
 * load twice. Returns the findings and the (resolved) files they explain.
 */
export function repeatedIncludes(tree: LintTree, fs: FileSource, sources: Sources): { diags: Finding[]; files: Set<string> } {
  const roots = tree.roots.map((r) => fs.resolve(r));
  // relative paths resolve against the directory that holds the top-level file
  const base = (file: string) => [tree.roots[Math.max(0, roots.findIndex((r) => inside(fs.resolve(file), r)))]!];
  const seen = new Map<string, string>();
  const diags: Finding[] = [];
  const files = new Set<string>();
  for (const inc of includes(tree, fs, sources, base)) {
    if (inc.words[0] !== '!include-service') continue;
    const key = JSON.stringify([inc.words[1], inc.words[2], inc.targets[0]]);
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, `${inc.file}:${inc.line}`);
      continue;
    }
    files.add(inc.targets[0]!);
    diags.push(
      finding(
        'duplicate',
        `${inc.p} is already included for ${inc.words[1]} ${inc.words[2]} at ${first}: its rules load twice and the second copy can never decide`,
        inc.file,
        inc.line,
        inc.column,
      ),
    );
  }
  return { diags, files };
}

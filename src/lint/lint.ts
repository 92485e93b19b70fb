/**
 * lint(): load each tree with the real loader and collect every finding:
 * syntax and load errors, per-rule checks, reachability, file-level checks;
 * then apply `# lint: ignore` comments, de-duplicate and sort.
 */
import * as path from 'node:path';
import type { FileSource } from '../parser/file-source.js';
import { byteCompare } from '../parser/text.js';
import type { SystemInfo } from '../policy/system-info.js';
import type { RuleContext, TreeContext } from './check.js';
import { displayPath } from './display.js';
import { applyIgnores, parseIgnores, type Ignore } from './ignore.js';
import { Sources } from './locate.js';
import { diagnostic, LINT_RULES, type Diagnostic, type LintRule, type RuleId } from './rules.js';
import { analyseReach, type Reach } from './shadow.js';
import { loadTree, type LintTree, type TreeSpec } from './tree.js';

export interface LintOptions {
  fs: FileSource;
  legacyPath: string;
  /** The legacy path was not chosen by the user (a missing one is only a note). */
  legacyDefault: boolean;
  systemInfo: SystemInfo | null;
  /** Paths in findings are shown relative to this directory when inside it. */
  cwd: string;
}

export interface LintResult {
  diagnostics: Diagnostic[];
  /** The rule ids whose checks ran (all but the system-info ones without system info, …). */
  ran: ReadonlySet<RuleId>;
}

/** The registry's checks that run here: none that need system info when there is none. */
function runnable(opts: LintOptions): LintRule[] {
  return LINT_RULES.filter((r) => r.needs !== 'system-info' || opts.systemInfo !== null);
}

/** Every finding of one tree: the loader's errors, then every check of the registry. */
function treeFindings(tree: LintTree, opts: LintOptions): { diags: Diagnostic[]; whole: boolean } {
  // the loader names a file in every error it reports
  const diags: Diagnostic[] = tree.errors.map((e) => diagnostic(e.id, e.message, e.file!, e.line, e.column));
  const complete = tree.errors.length === 0;
  const sources = new Sources(tree.texts);
  const whole = complete && tree.barriers.length === 0;
  let reach: Map<number, Reach> | undefined;
  const ctx: TreeContext = {
    tree,
    fs: opts.fs,
    sources,
    legacyPath: opts.legacyPath,
    reach: () => (reach ??= analyseReach(tree.rules, { redundancy: complete, barriers: tree.barriers })),
  };
  const checks = runnable(opts);
  for (const lr of checks) if (lr.check.per === 'tree') for (const f of lr.check.run(ctx)) diags.push(diagnostic(f.rule, f.message, f.file, f.line, f.column));
  const perRule = checks.filter((lr) => lr.check.per === 'rule');
  for (const rule of tree.rules) {
    if (rule.line === null) continue;
    const rc: RuleContext = { cols: sources.columns(rule), rules: tree.rules, whole, si: opts.systemInfo };
    for (const lr of perRule) {
      // (filtered to per-rule checks above)
      const check = lr.check as Extract<LintRule['check'], { per: 'rule' }>;
      for (const f of check.run(rule, rc)) diags.push(diagnostic(lr.id, f.message, rule.file, rule.line, f.column));
    }
  }
  return { diags, whole };
}

function compare(a: Diagnostic, b: Diagnostic): number {
  return (
    byteCompare(a.file, b.file) ||
    // Number(null) is 0: file-level findings come first
    Number(a.line) - Number(b.line) ||
    Number(a.column) - Number(b.column) ||
    byteCompare(a.rule, b.rule) ||
    byteCompare(a.message, b.message)
  );
}

/** Where a path may start and end inside a message: its edges, spaces, quotes, brackets, `:LINE`. */
const PATH_START = '(?<=^|[\\s("\'])';
const PATH_END = '(?=$|[\\s:)"\',])';

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Lint the trees; findings are de-duplicated (a file in two trees is reported once) and sorted. */
export function lint(specs: readonly TreeSpec[], opts: LintOptions): LintResult {
  const show = (p: string) => displayPath(p, opts.cwd);
  let raw: Diagnostic[] = [];
  const ignores: Ignore[] = [];
  const parsed = new Set<string>();
  // relative paths given from outside the working directory (`../x/policy.d`) are shown absolute
  const renamed = new Map<string, string>();
  let allWhole = true;
  for (const spec of specs) {
    const tree = loadTree(spec, opts);
    const { diags, whole } = treeFindings(tree, opts);
    allWhole &&= whole;
    raw.push(...diags);
    const sources = new Sources(tree.texts);
    for (const file of tree.texts.keys()) {
      if (!path.isAbsolute(file) && show(file) !== file) renamed.set(file, show(file));
      if (parsed.has(show(file))) continue;
      parsed.add(show(file));
      ignores.push(...parseIgnores(show(file), sources.linesOf(file), raw));
    }
  }
  // paths inside messages are shown like the file column: relative to the working directory
  const root = path.resolve(opts.cwd);
  const prefix = root === '/' ? null : root + '/';
  // only where a path starts (not inside another path: /var/tmp/x with the working directory /tmp)
  const rewrites: Array<[RegExp, string]> = [...renamed].map(([from, to]) => [new RegExp(`${PATH_START}${escapeRegExp(from)}${PATH_END}`, 'g'), to]);
  if (prefix) rewrites.push([new RegExp(PATH_START + escapeRegExp(prefix), 'g'), '']);
  const showIn = (message: string) => rewrites.reduce((m, [re, to]) => m.replace(re, to), message);
  raw = raw.map((d) => ({ ...d, file: show(d.file), message: showIn(d.message) }));
  const ran = new Set(runnable(opts).filter((r) => allWhole || r.needs !== 'whole-policy').map((r) => r.id));
  const seen = new Set<string>();
  const unique = raw.filter((d) => {
    const key = JSON.stringify([d.file, d.line, d.column, d.rule, d.message]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { diagnostics: applyIgnores(unique, ignores, ran).sort(compare), ran };
}

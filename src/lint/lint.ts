/**
 * lint(): load each tree with the real loader and collect every finding:
 * syntax and load errors, per-rule checks, reachability, file-level checks;
 * then apply `# lint: ignore` comments, de-duplicate and sort.
 */
import * as path from 'node:path';
import type { FileSource } from '../parser/file-source.js';
import { byteCompare } from '../parser/text.js';
import type { SystemInfo } from '../policy/system-info.js';
import { defaultNeverOffered } from './ask-default.js';
import { displayPath } from './display.js';
import { ignoredFiles, includesOutside, repeatedIncludes } from './files.js';
import { applyIgnores, parseIgnores, type Ignore } from './ignore.js';
import { Sources } from './locate.js';
import { dangerousAllow, dollarTokens, unknownNames, unsendableUser } from './rule-checks.js';
import { diagnostic, RULE_IDS, type Diagnostic, type RuleId } from './rules.js';
import { analyseReach, reachMessage } from './shadow.js';
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

const SYSTEM_INFO_RULES: ReadonlySet<RuleId> = new Set(['unknown-qube', 'unknown-tag', 'dispvm-not-template']);
/** Checks that need the whole rule set: (partly) skipped while a tree has errors or unknown (R4.0, unlisted) rules. */
const WHOLE_POLICY_RULES: ReadonlySet<RuleId> = new Set(['redundant', 'ask-default-target']);

function treeFindings(tree: LintTree, opts: LintOptions): { diags: Diagnostic[]; whole: boolean } {
  // the loader names a file in every error it reports
  const diags: Diagnostic[] = tree.errors.map((e) => diagnostic(e.id, e.message, e.file!, e.line, e.column));
  for (const e of tree.unchecked)
    diags.push(
      diagnostic(
        'compat-not-checked',
        `!compat-4.0 not followed: ${opts.legacyPath} does not exist here; give --legacy-path to check the R4.0 files`,
        e.file!,
        e.line,
        e.column,
      ),
    );
  const complete = tree.errors.length === 0;
  const sources = new Sources(tree.texts);
  const whole = complete && tree.barriers.length === 0;
  for (const rule of tree.rules) {
    if (rule.line === null) continue;
    const cols = sources.columns(rule);
    const at = (f: { rule: RuleId; message: string; column: number }) =>
      diags.push(diagnostic(f.rule, f.message, rule.file, rule.line, f.column));
    const danger = dangerousAllow(rule, cols);
    if (danger) at(danger);
    const user = unsendableUser(rule, cols);
    if (user) at(user);
    for (const f of [...dollarTokens(rule, cols), ...unknownNames(rule, cols, opts.systemInfo)]) at(f);
    const why = defaultNeverOffered(rule, tree.rules, whole);
    if (why !== null)
      at({
        rule: 'ask-default-target',
        message: `default_target=${rule.defaultTarget!.text} can never be offered: ${why}`,
        column: cols.params.get('default_target')!,
      });
  }
  const repeated = repeatedIncludes(tree, opts.fs, sources);
  const reloaded = new Set(repeated.files);
  for (const [i, r] of analyseReach(tree.rules, { redundancy: complete, barriers: tree.barriers })) {
    const rule = tree.rules[i]!;
    if (r.kind === 'reloaded') {
      // once per file, unless a repeated !include-service already says so
      const file = opts.fs.resolve(rule.file);
      if (reloaded.has(file)) continue;
      reloaded.add(file);
    }
    diags.push(diagnostic(r.kind === 'reloaded' ? 'duplicate' : r.kind, reachMessage(r), rule.file, rule.line, sources.columns(rule).start));
  }
  diags.push(...ignoredFiles(tree, opts.fs, opts.legacyPath), ...includesOutside(tree, opts.fs, sources), ...repeated.diags);
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
  const ran = new Set(
    RULE_IDS.filter(
      (id) => (opts.systemInfo !== null || !SYSTEM_INFO_RULES.has(id)) && (allWhole || !WHOLE_POLICY_RULES.has(id)),
    ),
  );
  const seen = new Set<string>();
  const unique = raw.filter((d) => {
    const key = JSON.stringify([d.file, d.line, d.column, d.rule, d.message]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { diagnostics: applyIgnores(unique, ignores, ran).sort(compare), ran };
}

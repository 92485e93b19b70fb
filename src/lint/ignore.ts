/**
 * `# lint: ignore RULE-ID[,RULE-ID...] REASON` comments: each silences those
 * rule ids on the next line that is neither blank nor a comment. Errors
 * cannot be silenced; a comment without a reason, with an unknown id, or
 * that silences nothing (of the checks that ran) is itself reported.
 */
import { pyStrip } from '../parser/text.js';
import { diagnostic, isRuleId, RULES, type Diagnostic, type RuleId } from './rules.js';

export interface Ignore {
  file: string;
  /** Line of the comment. */
  line: number;
  column: number;
  ids: RuleId[];
  /** The line it applies to (null: no rule line follows). */
  target: number | null;
  used: Set<RuleId>;
}

const IGNORE = /^#\s*lint:\s*ignore\b\s*(\S*)\s*(.*)$/;

/** Parse the ignore comments of one file; malformed ones are reported at once. */
export function parseIgnores(file: string, lines: readonly string[], problems: Diagnostic[]): Ignore[] {
  const out: Ignore[] = [];
  let pending: Ignore[] = [];
  lines.forEach((raw, i) => {
    const { text, offset } = pyStrip(raw);
    if (text === '') return;
    const m = text.startsWith('#') ? IGNORE.exec(text) : null;
    if (m === null) {
      if (!text.startsWith('#')) {
        for (const p of pending) p.target = i + 1;
        pending = [];
      }
      return;
    }
    const where = (msg: string): void => void problems.push(diagnostic('lint-ignore', msg, file, i + 1, offset + 1));
    const ids = m[1]!.split(',').filter((s) => s !== '');
    const bad = ids.filter((id) => !isRuleId(id));
    const errors = ids.filter((id) => isRuleId(id) && RULES.get(id)!.severity === 'error');
    if (ids.length === 0) return where('# lint: ignore needs a rule id and a reason');
    if (bad.length) return where(`# lint: ignore names unknown rule ids: ${bad.join(', ')}`);
    if (errors.length) return where(`errors cannot be ignored: ${errors.join(', ')}`);
    if (m[2] === '') where('# lint: ignore needs a reason after the rule id');
    const ig: Ignore = { file, line: i + 1, column: offset + 1, ids: ids as RuleId[], target: null, used: new Set() };
    out.push(ig);
    pending.push(ig);
  });
  return out;
}

/**
 * Drop the diagnostics the comments silence. Comments that silence nothing
 * are reported only for rule ids in `ran` (the checks this run performed).
 */
export function applyIgnores(diags: readonly Diagnostic[], ignores: readonly Ignore[], ran: ReadonlySet<RuleId>): Diagnostic[] {
  const byLine = new Map<string, Ignore[]>();
  for (const ig of ignores) {
    if (ig.target === null) continue;
    const key = `${ig.file}\0${ig.target}`;
    byLine.set(key, [...(byLine.get(key) ?? []), ig]);
  }
  const kept = diags.filter((d) => {
    const ig = byLine.get(`${d.file}\0${d.line}`)?.find((i) => i.ids.includes(d.rule));
    if (ig === undefined) return true;
    ig.used.add(d.rule);
    return false;
  });
  for (const ig of ignores) {
    const unused = ig.ids.filter((id) => !ig.used.has(id) && ran.has(id));
    if (ig.target === null) kept.push(diagnostic('lint-ignore', 'no rule line follows this # lint: ignore', ig.file, ig.line, ig.column));
    else if (unused.length)
      kept.push(
        diagnostic('lint-ignore', `nothing to ignore: no ${unused.join(', ')} finding on line ${ig.target}`, ig.file, ig.line, ig.column),
      );
  }
  return kept;
}

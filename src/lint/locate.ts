/**
 * Columns of a rule's fields, recovered from the text the loader read (the
 * parser keeps only file and line on a rule). Service-file lines are
 * normalised the way the parser does it, which keeps every column.
 */
import { normaliseServiceLine, type Rule } from '../parser/rule.js';
import { pyStrip, splitFields, splitLines } from '../parser/text.js';

export interface RuleColumns {
  /** Column of the rule's first field. */
  start: number;
  source: number;
  target: number;
  action: number;
  /** Column of each `key=value` parameter, by key. */
  params: Map<string, number>;
}

/** Lines of every file, split once. */
export class Sources {
  private readonly lines = new Map<string, string[]>();

  constructor(private readonly texts: ReadonlyMap<string, string>) {}

  linesOf(file: string): string[] {
    let l = this.lines.get(file);
    if (l === undefined) {
      l = splitLines(this.texts.get(file)!);
      this.lines.set(file, l);
    }
    return l;
  }

  /** Columns of a rule read from a file (not an implicit compat rule). */
  columns(rule: Rule): RuleColumns {
    const raw = this.linesOf(rule.file)[rule.line! - 1]!;
    const { text, offset } = pyStrip(raw);
    const fields = splitFields(rule.format === 'policy' ? text : normaliseServiceLine(text), offset);
    const first = rule.format === 'policy' ? 2 : 0;
    const col = (i: number) => fields[i]!.column;
    const params = new Map<string, number>();
    for (const f of fields.slice(first + 3)) params.set(f.text.split('=')[0]!, f.column);
    return { start: col(0), source: col(first), target: col(first + 1), action: col(first + 2), params };
  }
}

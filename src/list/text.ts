/**
 * `list --format text`: rows grouped by source, then service, one aligned
 * line per target: TARGET  RESULT  RULE  DETAIL. The columns are as wide as
 * the longest target and rule location that can occur, so lines are written
 * as they come, aligned across the whole output. Colour (ANSI) is applied
 * after alignment, so widths never count escape codes.
 */
import type { Rule } from '../parser/rule.js';
import type { Decision } from '../policy/decision.js';
import { asIs, reasonText, ruleDisplay, ruleLocation, type ShowPath } from '../render/text.js';
import type { BufferedOut } from './output.js';
import type { Row } from './rows.js';
import type { ServiceEntry } from './axes.js';

const SGR = { bold: '1', dim: '2', red: '31', green: '32', yellow: '33', cyan: '36' } as const;
const RESULT_COLOUR = { allow: SGR.green, ask: SGR.yellow, deny: SGR.red } as const;
const RESULT_WIDTH = 5;
/** Ask targets named in full on a text line; the rest are counted. */
export const ASK_SHOWN = 5;

type Paint = (code: string, s: string) => string;

function painter(colour: boolean): Paint {
  return colour ? (code, s) => `\x1b[${code}m${s}\x1b[0m` : (_code, s) => s;
}

/**
 * A call the deciding rule's `target=` sends to another target than the one
 * asked for: the row's target is not where it goes (or not among the
 * choices).
 */
export function redirectedElsewhere(d: Decision, requested: string): boolean {
  if (d.rule === null || d.rule.redirect === null) return false;
  if (d.result === 'allow') return d.target !== requested;
  return d.result === 'ask' && !d.targets.includes(requested);
}

/** What the decision means beyond its result word (the rule column says which rule). */
export function detail(d: Decision, show: ShowPath = asIs, requested: string | null = null): string {
  const elsewhere = requested !== null && redirectedElsewhere(d, requested) ? ` (redirected by target=: never reaches ${requested})` : '';
  switch (d.result) {
    case 'allow': {
      const extra = [d.user ? `user=${d.user}` : '', d.autostart ? '' : 'autostart=no', d.notify ? 'notify=yes' : ''];
      return [`to ${d.target}`, ...extra].filter(Boolean).join(' ') + elsewhere;
    }
    case 'ask': {
      // a long list on every line would drown the table; JSON has them all
      const shown = d.targets.length > ASK_SHOWN + 1 ? [...d.targets.slice(0, ASK_SHOWN), `... ${d.targets.length - ASK_SHOWN} more`] : d.targets;
      return `choose from ${shown.join(', ')}` + (d.defaultTarget ? ` (default ${d.defaultTarget})` : '') + elsewhere;
    }
    case 'deny':
      // a deny rule speaks for itself; anything else says why
      return d.kind === 'rule' ? '' : reasonText(d, show);
  }
}

/** `file:line`; a `!compat-4.0` implicit deny in short (explain's wording is too long for a column). */
function location(rule: Rule, show: ShowPath): string {
  return rule.line === null ? `${show(rule.file)} (implicit deny)` : ruleLocation(rule, show);
}

/** Column widths, known before the first row: the output streams. */
export interface Columns {
  /** Every target that can appear. */
  targets: Iterable<string>;
  /** Every rule that can decide a row. */
  rules: Iterable<Rule>;
  /** How rule locations are shown. */
  show: ShowPath;
}

function widths(c: Columns): { target: number; rule: number } {
  let target = 0;
  let rule = 1; // '-': no rule decided
  for (const t of c.targets) target = Math.max(target, t.length);
  for (const r of c.rules) rule = Math.max(rule, location(r, c.show).length);
  return { target, rule };
}

/** Write the rows as they come; resolves to how many there were. */
export async function writeText(rows: Iterable<Row>, out: BufferedOut, colour: boolean, columns: Columns): Promise<number> {
  const paint = painter(colour);
  const w = widths(columns);
  let source: string | null = null;
  let entry: ServiceEntry | null = null;
  let n = 0;
  for (const r of rows) {
    if (r.source !== source) {
      out.write((source === null ? '' : '\n') + paint(SGR.bold, r.source) + '\n');
      source = r.source;
      entry = null;
    }
    if (r.entry !== entry) {
      entry = r.entry;
      out.write('  ' + paint(SGR.cyan, entry.label) + '\n');
    }
    const d = r.decision;
    const loc = d.rule === null ? '-' : location(d.rule, columns.show);
    const more = detail(d, columns.show, r.target);
    const tail = more ? loc.padEnd(w.rule) + '  ' + more : loc;
    out.write(`    ${r.target.padEnd(w.target)}  ${paint(RESULT_COLOUR[d.result], d.result.padEnd(RESULT_WIDTH))}  ${tail}\n`);
    for (const p of r.passedOver ?? [])
      out.write(`        passed over ${ruleLocation(p.rule, columns.show)}: ${ruleDisplay(p.rule)}\n          ${paint(SGR.dim, p.reason)}\n`);
    n++;
    if (out.full) await out.flush();
  }
  await out.flush();
  return n;
}

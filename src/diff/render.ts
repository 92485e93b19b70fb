/**
 * Output of `diff`: text for people (changes grouped by the rule that now
 * decides them, each group and the whole counted by kind of change) and
 * JSON lines for machines (one changed request per line).
 */
import type { Rule } from '../parser/rule.js';
import { byteCompare } from '../parser/text.js';
import { ruleDisplay, ruleLocation, type ShowPath } from '../render/text.js';
import type { Change } from './compare.js';
import { CHANGE_KINDS, changeKind, type ChangeKind, type Side } from './outcome.js';

/** Ask targets named in full in a text line; the rest are counted. */
const TARGETS_SHOWN = 5;

function targetList(targets: readonly string[]): string {
  if (targets.length <= TARGETS_SHOWN + 1) return targets.join(', ');
  return `${targets.slice(0, TARGETS_SHOWN).join(', ')}, ... ${targets.length - TARGETS_SHOWN} more`;
}

/** A decision in a few words: `deny`, `allow to vault`, `ask vault, work (default vault)`. */
export function outcomeText(d: Side): string {
  switch (d.result) {
    case 'allow':
      return `allow to ${d.target}`;
    case 'ask':
      return `ask ${targetList(d.targets)}` + (d.defaultTarget ? ` (default ${d.defaultTarget})` : '');
    case 'deny':
      // a deny rule speaks for itself (the group names it); any other deny says why
      return d.reason === null ? 'deny' : `deny: ${d.reason}`;
  }
}

/** For an ask that offers other targets: what it gained and lost, rather than two long lists. */
function askChange(before: Side & { result: 'ask' }, after: Side & { result: 'ask' }): string {
  const parts = [...targetDelta(before.targets, after.targets)];
  if (before.defaultTarget !== after.defaultTarget) parts.push(`default ${before.defaultTarget ?? 'none'} => ${after.defaultTarget ?? 'none'}`);
  return `ask: ${parts.join(', ')}`;
}

// a big diff repeats the same pair of (shared, see compare.ts) target lists for many requests
const deltas = new WeakMap<readonly string[], WeakMap<readonly string[], string[]>>();

/** `+gained`, then `-lost`, each in list order. */
function targetDelta(before: readonly string[], after: readonly string[]): string[] {
  let byAfter = deltas.get(before);
  if (byAfter === undefined) deltas.set(before, (byAfter = new WeakMap()));
  let hit = byAfter.get(after);
  if (hit === undefined) {
    const was = new Set(before);
    const now = new Set(after);
    hit = [...after.filter((t) => !was.has(t)).map((t) => '+' + t), ...before.filter((t) => !now.has(t)).map((t) => '-' + t)];
    byAfter.set(after, hit);
  }
  return hit;
}

/** One change as a line: `newly allowed: work -> vault qubes.Gpg (deny => allow to vault)`. */
export function changeLine(c: Change): string {
  const kind = changeKind(c.before, c.after);
  const what =
    c.before.result === 'ask' && c.after.result === 'ask'
      ? askChange(c.before, c.after)
      : `${outcomeText(c.before)} => ${outcomeText(c.after)}`;
  return `${kind}: ${c.source} -> ${c.target} ${c.entry.request} (${what})`;
}

/** `3 newly allowed, 1 newly denied`, in the fixed order of CHANGE_KINDS. */
export function kindCounts(changes: readonly Change[]): string {
  const n = new Map<ChangeKind, number>();
  for (const c of changes) {
    const k = changeKind(c.before, c.after);
    n.set(k, (n.get(k) ?? 0) + 1);
  }
  return CHANGE_KINDS.filter((k) => n.has(k))
    .map((k) => `${n.get(k)} ${k}`)
    .join(', ');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

interface Group {
  rule: Rule | null;
  changes: Change[];
}

/** Changes grouped by the rule that decides them afterwards; groups in file and line order, "no rule" last. */
export function groupByRule(changes: readonly Change[]): Group[] {
  const groups = new Map<Rule | null, Group>();
  for (const c of changes) {
    let g = groups.get(c.after.rule);
    if (g === undefined) groups.set(c.after.rule, (g = { rule: c.after.rule, changes: [] }));
    g.changes.push(c);
  }
  const ruled = [...groups.values()].filter((g): g is Group & { rule: Rule } => g.rule !== null);
  // implicit compat rules (line null) after the numbered rules of the same file
  const line = (r: Rule) => r.line ?? Infinity;
  ruled.sort((a, b) => byteCompare(a.rule.file, b.rule.file) || line(a.rule) - line(b.rule));
  const none = groups.get(null);
  return none ? [...ruled, none] : ruled;
}

export interface TextOptions {
  /** At most this many change lines per group (the counts still cover all); default: all. */
  perGroup?: number;
  /** How rule locations are shown (default: as the loader names them). */
  show?: ShowPath;
}

/** The lines of the text report (none when nothing changed: the caller says so in its own words). */
export function* diffTextLines(changes: readonly Change[], opts: TextOptions = {}): Generator<string> {
  if (changes.length === 0) return;
  for (const g of groupByRule(changes)) {
    yield g.rule === null ? 'no rule decides these (denied):' : `${ruleLocation(g.rule, opts.show)}: ${ruleDisplay(g.rule)}`;
    const shown = opts.perGroup === undefined ? g.changes : g.changes.slice(0, opts.perGroup);
    for (const c of shown) yield '  ' + changeLine(c);
    if (shown.length < g.changes.length) yield `  ... and ${g.changes.length - shown.length} more`;
    yield `  ${plural(g.changes.length, 'request')}: ${kindCounts(g.changes)}`;
    yield '';
  }
  yield `${plural(changes.length, 'request')} changed: ${kindCounts(changes)}`;
}

/** The text report as one string ('' when nothing changed). */
export function diffText(changes: readonly Change[], opts: TextOptions = {}): string {
  const lines = [...diffTextLines(changes, opts)];
  return lines.length ? lines.join('\n') + '\n' : '';
}

interface SideJson {
  result: 'allow' | 'deny' | 'ask';
  target?: string;
  targets?: readonly string[];
  default_target?: string | null;
  rule: { file: string; line: number | null } | null;
}

function side(d: Side): SideJson {
  const rule = d.rule ? { file: d.rule.file, line: d.rule.line } : null;
  switch (d.result) {
    case 'allow':
      return { result: 'allow', target: d.target, rule };
    case 'ask':
      return { result: 'ask', targets: d.targets, default_target: d.defaultTarget, rule };
    case 'deny':
      return { result: 'deny', rule };
  }
}

/** One JSON object per line (`--format json`). */
export function changeJson(c: Change): string {
  return JSON.stringify({ source: c.source, target: c.target, service: c.entry.request, before: side(c.before), after: side(c.after) });
}

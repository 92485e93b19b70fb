/**
 * The policy formatter: rule lines in the same paragraph (between blank
 * lines) get their columns aligned, whitespace is normalised (no leading or
 * trailing blanks, single spaces in directives, `\n` line ends, no blank
 * lines at the end), comments and blank lines stay where they are, so every
 * rule keeps its line number. A file with syntax errors is not formatted.
 * The result is checked: the parser must read the same rules and
 * directives, line for line, from the formatted text, or it is refused.
 */
import type { PolicyError } from '../parser/errors.js';
import { paramValueList } from '../parser/params.js';
import { normaliseServiceLine, parsePolicyLine, parseServiceLine } from '../parser/rule.js';
import { pyStrip, splitFields, splitLines } from '../parser/text.js';

/** `policy`: a policy.d file; `service`: a file in the service-file format (`!include-service`). */
export type FileFormat = 'policy' | 'service';

/** Columns aligned per format: SERVICE ARGUMENT SOURCE TARGET ACTION, or SOURCE TARGET. */
const ALIGNED: Record<FileFormat, number> = { policy: 5, service: 2 };
const GAP = '  ';

type Line = { kind: 'blank' } | { kind: 'comment'; text: string } | { kind: 'directive' | 'rule'; fields: string[] };

function classify(raw: string, format: FileFormat): Line {
  const { text } = pyStrip(raw);
  if (text === '') return { kind: 'blank' };
  if (text.startsWith('#')) return { kind: 'comment', text };
  const directive = (format === 'policy' ? text : normaliseServiceLine(text)).startsWith('!');
  return { kind: directive ? 'directive' : 'rule', fields: splitFields(text).map((f) => f.text) };
}

/** What a file means to the parser: each rule (or error) and directive, with its line. */
function meaning(lines: readonly string[], file: string, format: FileFormat): { items: string[]; errors: PolicyError[] } {
  const items: string[] = [];
  const errors: PolicyError[] = [];
  lines.forEach((raw, i) => {
    const line = classify(raw, format);
    if (line.kind === 'blank' || line.kind === 'comment') return;
    if (line.kind === 'directive') {
      items.push(JSON.stringify([i + 1, ...line.fields]));
      return;
    }
    const { text, offset } = pyStrip(raw);
    const at = { file, line: i + 1 };
    const parsed =
      format === 'policy' ? parsePolicyLine(text, at, offset) : parseServiceLine(normaliseServiceLine(text), null, null, at, offset);
    errors.push(...parsed.errors);
    const r = parsed.rule;
    if (r)
      items.push(
        JSON.stringify([i + 1, r.service, r.argument, r.source.text, r.target.text, r.action, ...paramValueList(r)]),
      );
  });
  return { items, errors };
}

function alignBlock(block: string[][], format: FileFormat): string[] {
  const n = ALIGNED[format];
  const width: number[] = [];
  for (const fields of block) fields.slice(0, n).forEach((f, i) => (width[i] = Math.max(width[i] ?? 0, f.length)));
  return block.map((fields) =>
    fields.map((f, i) => (i < n && i < fields.length - 1 ? f.padEnd(width[i]!) + GAP : f + (i < fields.length - 1 ? ' ' : ''))).join(''),
  );
}

function layout(lines: readonly Line[], format: FileFormat): string[] {
  const out: string[] = [];
  // rules of the current paragraph: their positions in `out` and fields
  let block: Array<{ at: number; fields: string[] }> = [];
  const flush = () => {
    const aligned = alignBlock(
      block.map((b) => b.fields),
      format,
    );
    block.forEach((b, i) => (out[b.at] = aligned[i]!));
    block = [];
  };
  for (const line of lines) {
    if (line.kind === 'blank') {
      flush();
      out.push('');
    } else if (line.kind === 'comment') out.push(line.text);
    else if (line.kind === 'directive') out.push(line.fields.join(' '));
    else {
      block.push({ at: out.length, fields: line.fields });
      out.push('');
    }
  }
  flush();
  while (out.length && out[out.length - 1] === '') out.pop();
  return out;
}

export type FormatResult = { ok: true; text: string } | { ok: false; errors: PolicyError[] };

/** Format one file's text. Syntax errors are returned instead (nothing is formatted then). */
export function formatText(text: string, file: string, format: FileFormat): FormatResult {
  const lines = splitLines(text);
  const before = meaning(lines, file, format);
  if (before.errors.length) return { ok: false, errors: before.errors };
  const out = layout(
    lines.map((l) => classify(l, format)),
    format,
  );
  const formatted = out.length ? out.join('\n') + '\n' : '';
  const after = meaning(splitLines(formatted), file, format);
  /* c8 ignore next 2 -- formatting only moves whitespace; this guards against a formatter bug */
  if (JSON.stringify(after.items) !== JSON.stringify(before.items))
    throw new Error(`formatting ${file} would change what it means; it was left alone`);
  return { ok: true, text: formatted };
}

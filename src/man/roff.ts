/**
 * A man page (roff, the man macros) made from a command's --help text, so
 * that the page cannot say anything the help does not. The help's parts
 * are recognised by their layout, which every command's help shares:
 *
 *   usage line(s)                      → SYNOPSIS
 *   the paragraph after it             → NAME's one-liner, DESCRIPTION
 *   `Options:` / `Commands:` / … tables → OPTIONS, COMMANDS, …
 *   `Examples:` table                  → EXAMPLES
 *   `exit status: 0 …, 1 …`            → EXIT STATUS, one entry per status
 *   any other paragraph                → DESCRIPTION (indented lines kept as they are)
 */

export interface HelpPage {
  /** The command as typed: `qrexec-policy-exec`, or `qrexec-policy eval` for a subcommand. */
  command: string;
  /** The page's name: the command with `-` for the space. */
  name: string;
  section: 1 | 8;
  help: string;
}

/** Table headings and the man section each becomes. */
const TABLES: Readonly<Record<string, string>> = {
  options: 'OPTIONS',
  'positional arguments': 'ARGUMENTS',
  positionals: 'ARGUMENTS',
  commands: 'COMMANDS',
  examples: 'EXAMPLES',
};

interface Row {
  term: string;
  text: string;
}

interface Parsed {
  synopsis: string[];
  summary: string;
  description: string[][];
  tables: Map<string, Row[]>;
  exitStatus: string;
}

/** Text safe in roff: backslashes, and a control character at the start of a line. */
export function escape(text: string): string {
  return text.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^([.'])/gm, '\\&$1');
}

const TYPE_NOTE = /\s*\[(boolean|string|array|number|count)\]/g;

/** The rows of a two-column table: a row starts left of the description column, anything further right continues it. */
function tableRows(lines: string[]): Row[] {
  // the description column: where a row's second column starts, or where a line that only continues one starts
  const starts = lines.map((line) => {
    const indent = line.length - line.trimStart().length;
    if (indent >= 8) return indent;
    const m = /^(\s*\S(?:\S| (?! ))*)\s{2,}\S/.exec(line);
    return m ? m[0].length - 1 : Infinity;
  });
  const column = Math.min(...starts);
  const rows: Row[] = [];
  for (const line of lines) {
    const indent = line.length - line.trimStart().length;
    if (indent < column - 1 || rows.length === 0) {
      const cut = /\s{2,}/.exec(line.trimStart());
      const body = line.trimStart();
      rows.push(cut ? { term: body.slice(0, cut.index), text: body.slice(cut.index).trim() } : { term: body.trim(), text: '' });
    } else {
      const row = rows[rows.length - 1]!;
      row.text = `${row.text} ${line.trim()}`.trim();
    }
  }
  for (const row of rows) row.text = row.text.replace(TYPE_NOTE, '').trim();
  return rows;
}

function parseHelp(help: string): Parsed {
  const paragraphs = help
    .replace(/\s+$/, '')
    .split(/\n\s*\n/)
    .map((p) => p.split('\n').filter((l) => l.trim() !== ''))
    .filter((p) => p.length > 0);
  const usage = paragraphs.shift() ?? [];
  const parsed: Parsed = {
    synopsis: usage.map((l) => l.trim().replace(/^usage:\s*/i, '')),
    summary: '',
    description: [],
    tables: new Map(),
    exitStatus: '',
  };
  for (const p of paragraphs) {
    const heading = /^([A-Za-z][A-Za-z ]*):$/.exec(p[0]!);
    const section = heading ? TABLES[heading[1]!.toLowerCase()] : undefined;
    if (section !== undefined) {
      let rows = tableRows(p.slice(1));
      // an example too long for its column goes on in the next row's place, with no description
      if (section === 'EXAMPLES') rows = rows.reduce<Row[]>((all, r) => (r.text === '' && all.length > 0 ? (all[all.length - 1]!.term += ` ${r.term}`, all) : [...all, r]), []);
      parsed.tables.set(section, [...(parsed.tables.get(section) ?? []), ...rows]);
      continue;
    }
    const exitAt = p.findIndex((l) => /^exit status:/i.test(l));
    const text = exitAt < 0 ? p : p.slice(0, exitAt);
    if (exitAt >= 0) parsed.exitStatus = p.slice(exitAt).map((l) => l.trim()).join(' ').replace(/^exit status:\s*/i, '');
    if (text.length === 0) continue;
    if (parsed.summary === '' && parsed.description.length === 0) {
      // NAME gets the first sentence; a longer paragraph opens DESCRIPTION as well
      const all = text.map((l) => l.trim()).join(' ');
      parsed.summary = all.split(/(?<=\.) /, 1)[0]!.replace(/\.$/, '');
      if (parsed.summary.length + 1 < all.length) parsed.description.push(text);
    } else parsed.description.push(text);
  }
  return parsed;
}

/** `0 done, 1 refused (…, …), 2 usage error` → one entry per status (commas inside parentheses stay). */
export function exitStatuses(text: string): Row[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && /^[,;] *\d+ /.test(text.slice(i, i + 8))) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => {
    const m = /^\s*(\d+(?:\s*(?:or|and|-)\s*\d+)?)\s+(.*)$/s.exec(part)!;
    return m ? { term: m[1]!, text: m[2]!.trim() } : { term: '', text: part.trim() };
  });
}

function paragraph(lines: string[]): string {
  // indented lines (a list, a table) keep their layout; plain text is filled by man
  if (lines.some((l) => /^\s/.test(l))) return `.PP\n.nf\n${lines.map((l) => escape(l)).join('\n')}\n.fi\n`;
  return `.PP\n${escape(lines.join(' '))}\n`;
}

function rowsText(rows: Row[], bold: boolean): string {
  return rows.map((r) => `.TP\n${bold ? `.B ${escape(r.term)}` : escape(r.term)}\n${escape(r.text)}\n`).join('');
}

/** The man page for `page`, or a list of what its help lacks (a page must have examples and exit statuses). */
export function manPage(page: HelpPage, version: string, seeAlso: readonly string[] = []): string {
  const p = parseHelp(page.help);
  const missing = [p.tables.has('EXAMPLES') ? '' : 'Examples:', p.exitStatus ? '' : 'exit status:'].filter(Boolean);
  if (missing.length > 0) throw new Error(`${page.command} --help has no ${missing.join(' and no ')} section to make the man page from`);
  const out: string[] = [];
  out.push(`.TH ${escape(page.name.toUpperCase())} ${page.section} "" "qrexec-policy ${escape(version)}" "Qubes OS qrexec policy"\n`);
  out.push(`.SH NAME\n${escape(page.name)} \\- ${escape(p.summary)}\n`);
  out.push(`.SH SYNOPSIS\n.nf\n${p.synopsis.map(escape).join('\n')}\n.fi\n`);
  if (p.description.length > 0) out.push(`.SH DESCRIPTION\n${p.description.map(paragraph).join('')}`);
  for (const [section, rows] of p.tables) if (section !== 'EXAMPLES') out.push(`.SH ${section}\n${rowsText(rows, true)}`);
  out.push(`.SH EXAMPLES\n${p.tables.get('EXAMPLES')!.map((r) => `.PP\n${escape(r.text)}\n.PP\n.RS\n.nf\n${escape(r.term)}\n.fi\n.RE\n`).join('')}`);
  out.push(`.SH EXIT STATUS\n${rowsText(exitStatuses(p.exitStatus), false)}`);
  if (seeAlso.length > 0) {
    const refs = seeAlso.map((ref, i) => {
      const [, name, section] = /^(.*)\((\d)\)$/.exec(ref)!;
      return `.BR ${escape(name!)} (${section})${i < seeAlso.length - 1 ? ',' : ''}`;
    });
    out.push(`.SH SEE ALSO\n${refs.join('\n')}\n`);
  }
  return out.join('');
}

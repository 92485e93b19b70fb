/**
 * Writing converted rules as one `policy.d` file: a header, then per R4.0
 * file its comments and rules in their order (included files inlined where
 * they were included, the implicit denies written out), laid out by fmt.
 */
import * as path from 'node:path';
import { actionText, type Rule } from '../parser/rule.js';
import { pyStrip, splitLines } from '../parser/text.js';
import { formatText } from '../fmt/format.js';
import type { LegacyLoad, LegacySection } from './load.js';

/** A rule `policy.d` cannot express, and why. */
export interface NotConverted {
  rule: Rule;
  reason: string;
}

export interface Converted {
  text: string;
  /** The rules written, in order (those of the legacy files, implicit denies included). */
  rules: Rule[];
  notConverted: NotConverted[];
}

/** Why a legacy rule has no `policy.d` form, or null when it has one. */
export function inexpressible(rule: Rule): string | null {
  // a file named `+ARG`: no request has an empty service, so these rules never apply
  if (rule.service === '') return 'its file name gives no service name, so it can never apply';
  return null;
}

/** The columns of a rule in `policy.d` form (an R4.0 rule always names its service). */
export function ruleFields(rule: Rule): [string, string, string, string, string] {
  return [rule.service as string, rule.argument ?? '*', rule.source.text, rule.target.text, actionText(rule)];
}

/** A name for a comment line: control characters (a newline would end the comment) escaped. */
export function commentSafe(s: string): string {
  return s.replace(/\p{Cc}/gu, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** Carries the comment lines of the files a section reads over to the output, in place. */
class Comments {
  private readonly lines = new Map<string, string[]>();
  private readonly done = new Map<string, number>();

  constructor(private readonly texts: ReadonlyMap<string, string>) {}

  private linesOf(file: string): string[] {
    let l = this.lines.get(file);
    if (l === undefined) {
      // every file a rule names was read
      l = splitLines(this.texts.get(file)!).map((x) => pyStrip(x).text);
      this.lines.set(file, l);
    }
    return l;
  }

  /** The comments of `file` after what was carried over and before line `upTo` (1-based). */
  take(file: string, upTo: number): string[] {
    const lines = this.linesOf(file);
    const from = this.done.get(file) ?? 0;
    const end = Math.min(upTo - 1, lines.length);
    if (end > from) this.done.set(file, end);
    // comments and the blank lines between them; rules and directives are written elsewhere
    const kept = lines.slice(from, end).filter((l) => l === '' || l.startsWith('#'));
    return kept.filter((l, i) => l !== '' || (i > 0 && kept[i - 1] !== '' && kept.slice(i).some((x) => x !== '')));
  }

  /** The comments at the top of `file`, before its first rule or directive. */
  leading(file: string): string[] {
    const lines = this.linesOf(file);
    const first = lines.findIndex((l) => l !== '' && !l.startsWith('#'));
    return this.take(file, first < 0 ? lines.length + 1 : first + 1);
  }

  /** Start again (a file included from several legacy files is carried over with each). */
  reset(): void {
    this.done.clear();
  }
}

/** A path inside the legacy directory relative to it, any other as it is. */
function shortPath(load: LegacyLoad, file: string): string {
  const rel = path.relative(load.base, file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
}

function describeEntry(s: LegacySection): string {
  const name = path.basename(s.entry.file);
  // legacy file names use only A-Z a-z 0-9 - . _ +: nothing to escape
  return s.entry.argument === null
    ? `## === ${name} (any argument; what no rule here matches goes on to later files)`
    : `## === ${name} (this argument only; what no rule here matches is denied)`;
}

function header(load: LegacyLoad, outputName: string): string[] {
  return [
    `## ${outputName}: converted by qrexec-legacy-convert from the R4.0 policy`,
    `## in ${commentSafe(load.dir)}.`,
    '##',
    '## The rules are in R4.0 order and decide exactly as the !compat-4.0 line',
    '## did, as long as this file is read where that line stands (the default',
    '## name, 35-compat-converted.policy, is read just before 35-compat.policy,',
    '## which holds that line). Until the !compat-4.0 line or the R4.0 files are',
    '## removed both are read, and the answers stay the same.',
    '##',
    '## SERVICE  ARGUMENT  SOURCE  TARGET  ACTION  [PARAMS]',
  ];
}

export function renderConverted(load: LegacyLoad, outputName: string): Converted {
  const rules: Rule[] = [];
  const notConverted: NotConverted[] = [];
  for (const s of load.sections)
    for (const r of s.rules) {
      const why = inexpressible(r);
      if (why === null) rules.push(r);
      else if (r.format !== 'implicit') notConverted.push({ rule: r, reason: why });
    }
  const line = (r: Rule) => ruleFields(r).join(' ');
  const comments = new Comments(load.texts);
  const out = header(load, outputName);
  for (const s of load.sections) {
    comments.reset();
    out.push('', describeEntry(s), ...comments.leading(s.own));
    let file = s.own;
    let implicit = false;
    for (const r of s.rules) {
      if (r.format === 'implicit') {
        if (!implicit) out.push('# implicit in R4.0: what this file does not match is denied');
        implicit = true;
      } else {
        if (r.file !== file && r.file !== s.own) out.push(`# from ${commentSafe(shortPath(load, r.file))}, included here`);
        file = r.file;
        out.push(...comments.take(r.file, r.line!));
      }
      const why = inexpressible(r);
      out.push(why === null ? line(r) : `# NOT CONVERTED (${why}): ${r.text}`);
    }
    out.push(...comments.take(s.own, Number.MAX_SAFE_INTEGER));
  }
  // laid out by the formatter, so that `fmt --check` finds the file formatted
  const text = out.join('\n') + '\n';
  const formatted = formatText(text, outputName, 'policy');
  /* c8 ignore next -- converted rules always parse (verify.ts reads them back); a formatter refusal keeps the text as it is */
  return { text: formatted.ok ? formatted.text : text, rules, notConverted };
}

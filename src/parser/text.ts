/**
 * Text primitives that reproduce how the Qubes reference (Python) reads policy
 * files, so that exotic whitespace splits lines and fields exactly as it does.
 */

/**
 * Characters Python's `str.split()` / `str.strip()` treat as whitespace.
 * JavaScript's `\s` differs (it includes U+FEFF and lacks U+001C–U+001F and
 * U+0085), and a BOM-prefixed line must stay a syntax error as in Qubes.
 */
const PY_WHITESPACE =
  '\t\n\u000b\u000c\r\u001c\u001d\u001e\u001f \u0085\u00a0\u1680' +
  '\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a' +
  '\u2028\u2029\u202f\u205f\u3000';

const WS = new Set(PY_WHITESPACE);

/** Whitespace test by code unit: a table for the common ASCII case, the set above for the rest. */
const ASCII_WS = new Uint8Array(128);
for (const ch of PY_WHITESPACE) if (ch.charCodeAt(0) < 128) ASCII_WS[ch.charCodeAt(0)] = 1;

function isWsCode(code: number, s: string, i: number): boolean {
  return code < 128 ? ASCII_WS[code] === 1 : WS.has(s[i]!);
}

export function isPyWhitespace(ch: string): boolean {
  return WS.has(ch);
}

/** A whitespace-separated field with its 1-based column in the line. */
export interface Field {
  text: string;
  column: number;
}

/** Python `line.split()`, keeping the 1-based column of every field. */
export function splitFields(line: string, columnOffset = 0): Field[] {
  const fields: Field[] = [];
  let start = -1;
  const n = line.length;
  for (let i = 0; i < n; i++) {
    if (isWsCode(line.charCodeAt(i), line, i)) {
      if (start >= 0) {
        fields.push({ text: line.slice(start, i), column: start + 1 + columnOffset });
        start = -1;
      }
    } else if (start < 0) {
      start = i;
    }
  }
  if (start >= 0) fields.push({ text: line.slice(start), column: start + 1 + columnOffset });
  return fields;
}

/** Python `str.strip()`; also returns how many characters were cut on the left. */
export function pyStrip(line: string): { text: string; offset: number } {
  let a = 0;
  let b = line.length;
  while (a < b && isWsCode(line.charCodeAt(a), line, a)) a++;
  while (b > a && isWsCode(line.charCodeAt(b - 1), line, b - 1)) b--;
  return { text: a === 0 && b === line.length ? line : line.slice(a, b), offset: a };
}

/**
 * Split file content into lines the way Python's text mode iterates a file
 * with universal newlines: `\r\n`, `\r` and `\n` all end a line.
 */
export function splitLines(content: string): string[] {
  const lines = content.split(/\r\n|\r|\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Characters allowed in qrexec service names (and, with `+`, arguments). */
const RPCNAME_CHARS = /^[A-Za-z0-9._+-]*$/;
const SERVICE_CHARS = /^[A-Za-z0-9._-]*$/;

/** Sorted, de-duplicated characters of `s` that fail `allowed` (for messages). */
export function invalidChars(s: string, allowed: RegExp): string[] {
  // the usual case: nothing to report, found with one scan instead of one test per character
  if (allowed === CHARSET.serviceChar ? CHARSET.service.test(s) : allowed === CHARSET.rpcnameChar && CHARSET.rpcname.test(s))
    return [];
  const bad = new Set<string>();
  for (const ch of s) if (!allowed.test(ch)) bad.add(ch);
  // code-point order, like Python's sorted() (UTF-16 order differs above U+FFFF)
  return [...bad].sort(byteCompare);
}

export const CHARSET = {
  rpcname: RPCNAME_CHARS,
  service: SERVICE_CHARS,
  rpcnameChar: /^[A-Za-z0-9._+-]$/,
  serviceChar: /^[A-Za-z0-9._-]$/,
  /** Policy file names: `0-9 a-z _ . -` (SPEC §3). */
  policyFileName: /^[0-9a-z_.-]*$/,
} as const;

/**
 * What Python's repr() escapes beyond ASCII: control, format, unassigned,
 * separator characters. Made on first use: building the Unicode property
 * classes costs ~0.1 ms, and most calls never quote a non-ASCII character.
 */
let nonPrintable: RegExp | undefined;

/** Python's `repr()` of a str, enough for error messages that name a value. */
export function pyRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = q;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === q) out += '\\' + q;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    // printable ASCII (space included) is never in those classes
    else if (cp < 0x20 || cp === 0x7f || (cp > 0x7f && (nonPrintable ??= /[\p{C}\p{Z}]/u).test(ch)))
      // Python's escapes: \xNN below U+0100, \uNNNN in the BMP, \UNNNNNNNN above
      out +=
        cp < 0x100
          ? '\\x' + cp.toString(16).padStart(2, '0')
          : cp > 0xffff
            ? '\\U' + cp.toString(16).padStart(8, '0')
            : '\\u' + cp.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + q;
}

/** `text` as a literal inside a regular expression. */
export function regexLiteral(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A UTF-16 surrogate: where code-unit order and UTF-8 byte order part. */
export const SURROGATE = /[\ud800-\udfff]/;

/** Compare two strings as byte strings (SPEC "byte order"; never locale). */
export function byteCompare(a: string, b: string): number {
  if (a === b) return 0;
  // without surrogates, code-unit order is code-point order, which is UTF-8 byte order
  if (!SURROGATE.test(a) && !SURROGATE.test(b)) return a < b ? -1 : 1;
  const ba = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return Buffer.compare(ba, bb);
}

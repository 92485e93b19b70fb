/**
 * Policy test cases (SPEC §9). Plain text, one case per line, `#` comments:
 *
 *     SOURCE TARGET SERVICE[+ARG] -> allow [TARGET] | deny | ask [TARGET,...]
 *
 * (an empty TARGET is written `''`), or JSON: an array of
 * `{"source", "target", "service", "expect": "allow"|"deny"|"ask",
 * "expect_target"?, "expect_targets"?, "requested_source"?}` (or an object
 * with that array under "cases").
 */
import { pyStrip, splitLines } from '../parser/text.js';

export interface Expectation {
  result: 'allow' | 'deny' | 'ask';
  /** allow: the final target, if the case names one. */
  target?: string;
  /** ask: the offered targets (any order), if the case names them. */
  targets?: string[];
}

export interface Case {
  /** `FILE:LINE` or `FILE: case N`. */
  where: string;
  source: string;
  target: string;
  service: string;
  requestedSource: string | null;
  expect: Expectation;
}

export interface BadCase {
  where: string;
  error: string;
}

const RESULTS = ['allow', 'deny', 'ask'];

function unquote(s: string): string {
  return s === "''" || s === '""' ? '' : s;
}

/** Parse the right-hand side: `allow [TARGET]`, `deny`, `ask [T1,T2,...]`. */
function parseExpectation(text: string): Expectation | string {
  const [result, ...rest] = text.split(/\s+/).filter((w) => w !== '');
  if (result === undefined || !RESULTS.includes(result)) return `expected allow, deny or ask after ->, got ${JSON.stringify(result ?? '')}`;
  const arg = rest.join(' ');
  if (result === 'deny') return arg === '' ? { result } : 'deny takes no target';
  if (result === 'allow') {
    if (rest.length > 1) return 'allow takes at most one target';
    return arg === '' ? { result } : { result, target: arg };
  }
  if (arg === '') return { result: 'ask' };
  const targets = arg.split(',').map((t) => t.trim());
  if (targets.some((t) => t === '' || /\s/.test(t))) return 'ask targets are separated by commas';
  return { result: 'ask', targets };
}

export function parseTextCases(file: string, text: string): Array<Case | BadCase> {
  const out: Array<Case | BadCase> = [];
  splitLines(text).forEach((raw, i) => {
    const line = pyStrip(raw).text;
    if (line === '' || line.startsWith('#')) return;
    const where = `${file}:${i + 1}`;
    const arrow = line.split('->');
    if (arrow.length !== 2) return void out.push({ where, error: 'a case is SOURCE TARGET SERVICE[+ARG] -> RESULT' });
    const request = arrow[0]!.split(/\s+/).filter((w) => w !== '');
    if (request.length !== 3) return void out.push({ where, error: `expected SOURCE TARGET SERVICE[+ARG] before ->, got ${request.length} words` });
    const expect = parseExpectation(arrow[1]!);
    if (typeof expect === 'string') return void out.push({ where, error: expect });
    out.push({ where, source: request[0]!, target: unquote(request[1]!), service: request[2]!, requestedSource: null, expect });
  });
  return out;
}

function jsonCase(where: string, v: unknown): Case | BadCase {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { where, error: 'a case must be a JSON object' };
  const o = v as Record<string, unknown>;
  for (const k of ['source', 'target', 'service', 'expect'])
    if (typeof o[k] !== 'string') return { where, error: `"${k}" must be a string` };
  const result = o['expect'] as string;
  if (!RESULTS.includes(result)) return { where, error: `"expect" must be allow, deny or ask` };
  const expect: Expectation = { result: result as Expectation['result'] };
  const t = o['expect_target'];
  if (t !== undefined) {
    if (typeof t !== 'string' || result !== 'allow') return { where, error: '"expect_target" is a string, for allow only' };
    expect.target = t;
  }
  const ts = o['expect_targets'];
  if (ts !== undefined) {
    if (!Array.isArray(ts) || !ts.every((x) => typeof x === 'string') || result !== 'ask')
      return { where, error: '"expect_targets" is an array of strings, for ask only' };
    expect.targets = ts as string[];
  }
  const rs = o['requested_source'];
  if (rs !== undefined && rs !== null && typeof rs !== 'string') return { where, error: '"requested_source" must be a string' };
  return {
    where,
    source: o['source'] as string,
    target: o['target'] as string,
    service: o['service'] as string,
    requestedSource: (rs as string | null | undefined) ?? null,
    expect,
  };
}

export function parseJsonCases(file: string, text: string): Array<Case | BadCase> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return [{ where: file, error: `not valid JSON: ${(err as Error).message}` }];
  }
  const list = Array.isArray(doc) ? doc : (doc as Record<string, unknown> | null)?.['cases'];
  if (!Array.isArray(list)) return [{ where: file, error: 'expected a JSON array of cases (or {"cases": [...]})' }];
  return list.map((v, i) => jsonCase(`${file}: case ${i + 1}`, v));
}

/** JSON when the file's first non-blank character is `[` or `{`, else the text form. */
export function parseCases(file: string, text: string): Array<Case | BadCase> {
  return /^\s*[[{]/.test(text) ? parseJsonCases(file, text) : parseTextCases(file, text);
}

export function isBad(c: Case | BadCase): c is BadCase {
  return 'error' in c;
}

/** The expectation as a case file writes it. */
export function expectationText(e: Expectation): string {
  if (e.result === 'allow') return e.target === undefined ? 'allow' : `allow ${e.target}`;
  if (e.result === 'ask') return e.targets === undefined ? 'ask' : `ask ${e.targets.join(',')}`;
  return 'deny';
}

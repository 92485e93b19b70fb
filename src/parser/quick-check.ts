/**
 * A quick check that a `policy.d` rule line is valid, without building it.
 *
 * The per-call path (qrexec-policy-exec) needs only the rules of one service,
 * but must still deny everything if any line anywhere is wrong. Building a
 * rule for every line costs most of its start-up at 10,000 rules; this check
 * lets the loader confirm the other services' lines cheaply. It applies the
 * parser's own rules (the token parser, through its cache, and the
 * parameter table) to plain lines only (printable ASCII separated by spaces
 * and tabs); anything else returns "not known", and the full parser reports
 * it exactly. test/parser/quick-check.test.ts holds it to the parser.
 */
import { expected } from '../errors.js';
import type { Action } from './rule.js';
import { ACTION_PARAMS, paramIndex } from './params.js';
import { cachedToken, TokenError, tokenPattern, type Token, type TokenContext } from './tokens.js';
import { regexLiteral } from './text.js';

/**
 * A plain rule line in one native match: service, argument, source, target,
 * action and the parameters (printable ASCII, separated by spaces and tabs).
 */
const LINE = /^([A-Za-z0-9._-]+)[ \t]+(?:\*|\+[A-Za-z0-9._+-]*)[ \t]+([\x21-\x7e]+)[ \t]+([\x21-\x7e]+)[ \t]+(allow|deny|ask)((?:[ \t]+[\x21-\x7e]+)*)$/;
const PARAM_SEP = /[ \t]+/;

/** The token, or null when the text is not valid in that column (never throws). */
function tokenOrNull(text: string, context: TokenContext): Token | null {
  try {
    return cachedToken(text, context);
  } catch (err) {
    expected(err, TokenError);
    return null;
  }
}

/**
 * The service of a line the full parser turns into a rule without errors, or
 * null when that is not known here (the line may still be valid: parse it).
 * Lines for `*` are never recognised: they are every service's rules.
 */
export function plainRuleService(line: string): string | null {
  const m = LINE.exec(line);
  if (m === null) return null;
  const action = m[4] as Action;
  if (tokenOrNull(m[2]!, 'source') === null) return null;
  const tgt = tokenOrNull(m[3]!, 'target');
  if (tgt === null) return null;
  let hasRedirect = false;
  const params = m[5]!;
  if (params !== '') {
    const seen: string[] = [];
    // the parameters start with a separator, so the first piece is empty
    const pieces = params.split(PARAM_SEP);
    for (let i = 1; i < pieces.length; i++) {
      const p = pieces[i]!;
      const eq = p.indexOf('=');
      if (eq < 0) return null;
      const key = p.slice(0, eq);
      const value = p.slice(eq + 1);
      const at = paramIndex(key);
      const param = at === undefined ? undefined : ACTION_PARAMS[at]!;
      if (param === undefined || !param.actions.includes(action) || seen.includes(key)) return null;
      seen.push(key);
      if (param.kind === 'boolean' && value !== 'yes' && value !== 'no') return null;
      if (param.kind === 'token' && tokenOrNull(value, 'redirect') === null) return null;
      if (param.field === 'redirect') hasRedirect = true;
    }
  }
  // allow to @default needs target= (the parser's default-allow-target error)
  return tgt.kind === 'default' && action === 'allow' && !hasRedirect ? null : m[1]!;
}

/** One optional parameter an action takes, as a pattern built from the parameter table. */
function oneParam(action: Action): string {
  const value = { boolean: '(?:yes|no)', token: tokenPattern('redirect'), text: '[\\x21-\\x7e]*' } as const;
  const params = ACTION_PARAMS.filter((p) => p.actions.includes(action)).map((p) => `${regexLiteral(p.key)}=${value[p.kind]}`);
  return `(?:[ \\t]+(?:${params.join('|')}))?`;
}

/**
 * A test for the lines a one-service load may skip unread: blank lines,
 * comments, and plain rule lines of another service than `focus` with at
 * most one parameter, which the parser turns into rules without an error.
 * One native match per line where plainRuleService runs a match and then
 * script code (several times slower before V8 optimises it, and a
 * per-call process never lives that long). Everything it does not
 * recognise (two parameters, Python's other whitespace, `*` rules)
 * goes on to plainRuleService and the parser. The patterns come from the
 * token and parameter tables; test/parser/quick-check.test.ts holds it to
 * plainRuleService.
 */
export function skippableLine(focus: string): RegExp {
  const ws = '[ \\t]+';
  const redirect = ACTION_PARAMS.find((p) => p.field === 'redirect')!.key;
  const actions = (['allow', 'deny', 'ask'] as const).map((a) => a + oneParam(a)).join('|');
  const rule = [
    `(?!${regexLiteral(focus)}[ \\t])[A-Za-z0-9._-]+`,
    '(?:\\*|\\+[A-Za-z0-9._+-]*)',
    tokenPattern('source'),
    // allow to @default needs target= (the parser's default-allow-target error)
    `(?!@default${ws}allow(?!${ws}${regexLiteral(redirect)}=))${tokenPattern('target')}`,
    `(?:${actions})`,
  ].join(ws);
  return new RegExp(`^[ \\t]*(?:#.*|${rule}[ \\t]*)?$`);
}

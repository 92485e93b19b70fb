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
import { paramAllowed, type Action } from './rule.js';
import { CHARSET } from './text.js';
import { cachedToken, TokenError, type Token, type TokenContext } from './tokens.js';

const PLAIN = /^[\x21-\x7e]+(?:[ \t]+[\x21-\x7e]+)*$/;
const FIELD_SEP = /[ \t]+/;
const ARGUMENT = /^\+[A-Za-z0-9._+-]*$/;

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
  if (!PLAIN.test(line)) return null;
  const f = line.split(FIELD_SEP);
  if (f.length < 5) return null;
  // indexed reads: array destructuring goes through the iterator protocol, slow before the JIT warms up
  const service = f[0]!;
  const argument = f[1]!;
  const source = f[2]!;
  const target = f[3]!;
  const action = f[4]!;
  if (!CHARSET.service.test(service) || (argument !== '*' && !ARGUMENT.test(argument))) return null;
  if (action !== 'allow' && action !== 'deny' && action !== 'ask') return null;
  if (tokenOrNull(source, 'source') === null) return null;
  const tgt = tokenOrNull(target, 'target');
  if (tgt === null) return null;
  let hasRedirect = false;
  let seen: string[] | undefined;
  for (let i = 5; i < f.length; i++) {
    const p = f[i]!;
    const eq = p.indexOf('=');
    if (eq < 0) return null;
    const key = p.slice(0, eq);
    const value = p.slice(eq + 1);
    if (!paramAllowed(action as Action, key) || (seen ??= []).includes(key)) return null;
    seen.push(key);
    if (key === 'notify' || key === 'autostart') {
      if (value !== 'yes' && value !== 'no') return null;
    } else if (key === 'target' || key === 'default_target') {
      if (tokenOrNull(value, 'redirect') === null) return null;
      if (key === 'target') hasRedirect = true;
    }
  }
  // allow to @default needs target= (the parser's default-allow-target error)
  return tgt.kind === 'default' && action === 'allow' && !hasRedirect ? null : service;
}

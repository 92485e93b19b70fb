import { pyRepr, regexLiteral } from './text.js';

/**
 * Qube tokens (SPEC §3.1): what may stand in the SOURCE and TARGET columns,
 * in `target=` / `default_target=` (redirects) and in a request's target.
 */

/** A reference to one qube, by name or by `uuid:`. */
export type QubeRef = { by: 'name'; name: string } | { by: 'uuid'; uuid: string };

export type Token =
  | { kind: 'any'; text: string }
  | { kind: 'anyvm'; text: string }
  | { kind: 'adminvm'; text: string }
  | { kind: 'default'; text: string }
  | { kind: 'dispvm'; text: string }
  | { kind: 'dispvm-template'; text: string; ref: QubeRef }
  | { kind: 'dispvm-tag'; text: string; tag: string }
  | { kind: 'tag'; text: string; tag: string }
  | { kind: 'type'; text: string; type: string }
  | { kind: 'qube'; text: string; ref: QubeRef };

export type TokenKind = Token['kind'];

/** Where a token appears; decides which kinds are valid (the SPEC §3.1 table). */
export type TokenContext = 'source' | 'target' | 'redirect' | 'request';

/** The word the reference uses in "invalid X token" messages. */
const CONTEXT_WORD: Record<TokenContext, string> = {
  source: 'source',
  target: 'target',
  redirect: 'redirect',
  request: 'intendedtarget',
};

const ALLOWED: Record<TokenContext, ReadonlySet<TokenKind>> = {
  source: new Set<TokenKind>(['any', 'anyvm', 'adminvm', 'dispvm-template', 'dispvm-tag', 'tag', 'type', 'qube']),
  target: new Set<TokenKind>([
    'any', 'anyvm', 'adminvm', 'default', 'dispvm', 'dispvm-template', 'dispvm-tag', 'tag', 'type', 'qube',
  ]),
  redirect: new Set<TokenKind>(['adminvm', 'dispvm', 'dispvm-template', 'qube']),
  request: new Set<TokenKind>(['adminvm', 'default', 'dispvm', 'dispvm-template', 'qube']),
};

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

const EXACT: ReadonlyArray<[string, TokenKind]> = [
  ['*', 'any'],
  ['@adminvm', 'adminvm'],
  ['@anyvm', 'anyvm'],
  ['@default', 'default'],
  ['@dispvm', 'dispvm'],
];

/** Prefixed tokens in the order the reference tries them. */
const PREFIXES: ReadonlyArray<[string, 'type' | 'tag' | 'dispvm-template' | 'dispvm-tag']> = [
  ['@type:', 'type'],
  ['@tag:', 'tag'],
  ['@dispvm:', 'dispvm-template'],
  ['@dispvm:@tag:', 'dispvm-tag'],
];

export function isTokenAllowed(kind: TokenKind, context: TokenContext): boolean {
  return ALLOWED[context].has(kind);
}

/** `uuid:U` → a uuid reference, anything else → a name reference. */
export function qubeRef(text: string): QubeRef {
  return text.startsWith('uuid:') ? { by: 'uuid', uuid: text.slice(5) } : { by: 'name', name: text };
}

/** A printable ASCII character other than `@` (the first of a qube name or of a prefixed value). */
const NOT_AT = '[\\x21-\\x3f\\x41-\\x7e]';
const PRINTABLE = '[\\x21-\\x7e]';

/**
 * A regular-expression source (no anchors, no captures) matching exactly
 * the printable-ASCII texts parseToken accepts in `context`, read from the
 * same tables: the exact words, the prefixes with a value that does not
 * start with `@`, and qube names (not `@…`, not a lone `*`; `dom0` and the
 * zero uuid are names in form). `except` leaves out kinds, e.g. `default`.
 */
export function tokenPattern(context: TokenContext, except: readonly TokenKind[] = []): string {
  const ok = (kind: TokenKind) => ALLOWED[context].has(kind) && !except.includes(kind);
  const alternatives = [
    ...EXACT.filter(([, kind]) => ok(kind)).map(([text]) => regexLiteral(text)),
    ...PREFIXES.filter(([, kind]) => ok(kind)).map(([prefix]) => `${regexLiteral(prefix)}${NOT_AT}${PRINTABLE}*`),
  ];
  if (ok('qube')) alternatives.push(`(?!\\*(?!${PRINTABLE}))${NOT_AT}${PRINTABLE}*`);
  return `(?:${alternatives.join('|')})`;
}

export class TokenError extends Error {}

/**
 * Tokens are immutable, and a policy repeats the same few (`@anyvm`, qube
 * names) thousands of times: parsed tokens are shared through this cache.
 * It is bounded so a long-running daemon that reloads changing policies
 * cannot grow it without limit.
 */
const CACHE_LIMIT = 100_000;
const tokenCache: Record<TokenContext, Map<string, Token>> = {
  source: new Map(),
  target: new Map(),
  redirect: new Map(),
  request: new Map(),
};

/** parseToken, sharing the result for repeated texts (errors are not cached). */
export function cachedToken(text: string, context: TokenContext): Token {
  const cache = tokenCache[context];
  let tok = cache.get(text);
  if (tok === undefined) {
    tok = parseToken(text, context);
    /* c8 ignore next -- reached only after 100,000 distinct tokens */
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(text, tok);
  }
  return tok;
}

/**
 * Parse one token for a context. Throws TokenError with the reference's
 * message for tokens not valid there (unknown `@word`, empty suffix, ...).
 */
export function parseToken(text: string, context: TokenContext): Token {
  // only `target=` / `default_target=` can be empty (fields never are); Qubes rejects that
  if (text === '') throw new TokenError(`invalid empty ${CONTEXT_WORD[context]} token`);
  if (text === 'dom0' || text === 'uuid:' + ZERO_UUID) return { kind: 'adminvm', text };
  if (!text.startsWith('@') && text !== '*') return { kind: 'qube', text, ref: qubeRef(text) };
  const allowed = ALLOWED[context];
  for (const [exact, kind] of EXACT) {
    if (text === exact && allowed.has(kind)) return { kind, text } as Token;
  }
  for (const [prefix, kind] of PREFIXES) {
    if (!allowed.has(kind) || !text.startsWith(prefix)) continue;
    const value = text.slice(prefix.length);
    if (value === '') throw new TokenError(`invalid empty ${prefix} token: ${pyRepr(text)}`);
    // a value starting with '@' belongs to a longer prefix (@dispvm:@tag:) or is invalid
    if (value.startsWith('@')) continue;
    switch (kind) {
      case 'type':
        return { kind, text, type: value };
      case 'tag':
        return { kind, text, tag: value };
      case 'dispvm-tag':
        return { kind, text, tag: value };
      case 'dispvm-template':
        return { kind, text, ref: value === 'uuid:' + ZERO_UUID ? { by: 'uuid', uuid: ZERO_UUID } : qubeRef(value) };
    }
  }
  throw new TokenError(`invalid ${CONTEXT_WORD[context]} token: ${pyRepr(text)}`);
}

/** True for the three spellings of dom0 (`@adminvm`, `dom0`, the zero uuid). */
export function isDom0Text(text: string): boolean {
  return text === '@adminvm' || text === 'dom0' || text === 'uuid:' + ZERO_UUID;
}

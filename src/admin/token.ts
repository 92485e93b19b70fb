/**
 * Tokens guard a change against one made since the file was read (Qubes'
 * Policy Admin API): Get answers `sha256:HEX` of the content; Replace and
 * Remove carry `sha256:HEX` (the file must exist and still have that
 * content), `new` (it must not exist) or `any` (no check).
 */
import { createHash } from 'node:crypto';
import { PolicyAdminProtocolException, PolicyAdminTokenException } from './errors.js';

export function tokenOf(content: Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(content).digest('hex');
}

export type Token = { kind: 'any' } | { kind: 'new' } | { kind: 'sha256'; text: string };

export function parseToken(text: string): Token {
  if (text === 'any') return { kind: 'any' };
  if (text === 'new') return { kind: 'new' };
  // any sha256: text is a token; one that is not a real digest simply never matches
  if (text.startsWith('sha256:')) return { kind: 'sha256', text };
  throw new PolicyAdminProtocolException(`unrecognized token ${JSON.stringify(text.slice(0, 80))}: use any, new or sha256:HEX from Get`);
}

/** Refuse unless the file (its current bytes, or null when it does not exist) is what the token says. */
export function checkToken(token: Token, current: Uint8Array | null, what: string): void {
  switch (token.kind) {
    case 'any':
      return;
    case 'new':
      if (current !== null) throw new PolicyAdminTokenException(`${what} exists, but the token is 'new'`);
      return;
    case 'sha256':
      if (current === null) throw new PolicyAdminTokenException(`${what} does not exist, but the token is not 'new'`);
      if (tokenOf(current) !== token.text) throw new PolicyAdminTokenException(`token mismatch: ${what} changed since it was read`);
  }
}

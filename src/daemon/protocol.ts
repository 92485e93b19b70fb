/**
 * The request qrexec-daemon sends to the policy socket (SPEC §8): ASCII
 * `key=value` lines ended by an empty line. Everything about the bytes and
 * the keys is checked here; anything wrong is a reason to close the
 * connection without an answer.
 */
import { describeByte, firstUnprintable, MORE, type Received, type Verdict } from './bytes.js';

/**
 * Largest request accepted: qrexec passes service names of up to 65,000
 * bytes, plus room for the other keys.
 */
export const MAX_REQUEST_BYTES = 66_000;

export interface PolicyRequest {
  source: string;
  intendedTarget: string;
  serviceAndArg: string;
  assumeYesForAsk: boolean;
  justEvaluate: boolean;
  requestedSource: string | null;
}

export type Scan = Verdict<PolicyRequest>;

const REQUIRED = ['source', 'intended_target', 'service_and_arg'] as const;
const BOOLEAN = new Set(['assume_yes_for_ask', 'just_evaluate']);
/** Every key a request may carry (a key added here goes into PolicyRequest below). */
const KNOWN = new Set([...REQUIRED, ...BOOLEAN, 'requested_source'] as const);
type Key = typeof REQUIRED[number] | 'assume_yes_for_ask' | 'just_evaluate' | 'requested_source';

/** A key or value for a log line: quoted, and cut short when long. */
export function quoted(s: string, max = 40): string {
  return JSON.stringify(s.length > max ? s.slice(0, max) + '…' : s);
}

/**
 * Look at what arrived so far. `from` is where the previous look stopped
 * searching for the empty line (a returned `more` carries none; callers pass
 * the previous length), `eof` whether the client closed its side.
 */
export function scanRequest(got: Received, eof: boolean, limit = MAX_REQUEST_BYTES, from = 0): Scan {
  const b = got.bytes();
  let end: number;
  if (b.length > 0 && b[0] === 0x0a) end = 0;
  else {
    const i = b.indexOf('\n\n', Math.max(0, from - 1), 'latin1');
    end = i < 0 ? -1 : i + 1;
  }
  if (end < 0 || end > limit) {
    if (b.length > limit) return { kind: 'bad', reason: `request longer than ${limit} bytes` };
    if (!eof) return MORE;
    if (b.length === 0) return { kind: 'bad', reason: 'connection closed without a request' };
    // the reference also answers a client that half-closes after complete lines
    if (b[b.length - 1] !== 0x0a) return { kind: 'bad', reason: 'request ends in the middle of a line' };
    end = b.length;
  }
  const bad = firstUnprintable(b, end);
  if (bad >= 0) return { kind: 'bad', reason: `${describeByte(b[bad]!)} in the request` };
  return parseLines(end === 0 ? '' : b.toString('latin1', 0, end - 1));
}

/** The request's lines (without the final empty one) → a request or the reason it is refused. */
export function parseLines(text: string): Scan {
  // one pass with indexOf into a record of the known keys: this runs for every request
  const got: Partial<Record<Key, string>> = {};
  for (let at = 0; text !== ''; ) {
    let nl = text.indexOf('\n', at);
    if (nl < 0) nl = text.length;
    const eq = text.indexOf('=', at);
    if (eq < 0 || eq > nl) return { kind: 'bad', reason: `line without "=": ${quoted(text.slice(at, nl))}` };
    const key = text.slice(at, eq);
    const value = text.slice(eq + 1, nl);
    if (!KNOWN.has(key)) return { kind: 'bad', reason: `unknown key ${quoted(key)}` };
    if (got[key as Key] !== undefined) return { kind: 'bad', reason: `repeated key ${key}` };
    got[key as Key] = value;
    if (BOOLEAN.has(key) && value !== 'yes' && value !== 'no')
      return { kind: 'bad', reason: `invalid boolean ${quoted(value)} for ${key} (yes or no)` };
    if (nl === text.length) break;
    at = nl + 1;
  }
  const { source, intended_target: target, service_and_arg: serviceAndArg, requested_source: requestedSource } = got;
  if (source === undefined || target === undefined || serviceAndArg === undefined) {
    const missing = REQUIRED.filter((k) => got[k] === undefined);
    return { kind: 'bad', reason: `missing key${missing.length > 1 ? 's' : ''} ${missing.join(', ')}` };
  }
  return {
    kind: 'done',
    value: {
      source,
      intendedTarget: target,
      serviceAndArg,
      assumeYesForAsk: got.assume_yes_for_ask === 'yes',
      justEvaluate: got.just_evaluate === 'yes',
      requestedSource: requestedSource ?? null,
    },
  };
}

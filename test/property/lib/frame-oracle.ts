/**
 * What the daemon must do with a frame, read from SPEC §8 independently of
 * src/daemon: answer it (with the question it asks), or close the
 * connection without an answer.
 */
import type { DomainJson } from '../gen/system.js';

/** Largest policy request and service header (qrexec passes service names of up to 65,000 bytes). */
export const MAX_REQUEST = 66_000;
/** `SOURCE\0TARGET` of policy.EvalSimple / EvalGUI, and each name's limit (as the reference reads them). */
export const MAX_PAYLOAD = 96;
const MAX_SOURCE = 31;
const MAX_TARGET = 63;

export interface Question {
  source: string;
  target: string;
  service: string;
  requestedSource: string | null;
  assumeYes: boolean;
  justEvaluate: boolean;
}

/** Answer `q`; close without an answer; or (where SPEC §8 sets no rule) either, but if answered, answer `q`. */
export type Expect = { answer: true; q: Question } | { answer: false; why: string } | { answer: 'either'; q: Question; why: string };

const closed = (why: string): Expect => ({ answer: false, why });
const printable = (b: Buffer, newline: boolean) => b.every((c) => (c >= 0x20 && c <= 0x7e) || (newline && c === 0x0a));

const KEYS = ['source', 'intended_target', 'service_and_arg', 'assume_yes_for_ask', 'just_evaluate', 'requested_source'];

/** A policy-socket frame (SPEC §8). `halfClosed`: the client ended its side after sending. */
export function expectPolicyFrame(b: Buffer, halfClosed: boolean): Expect {
  // the request ends at its first empty line
  let end = b.length > 0 && b[0] === 0x0a ? 0 : b.indexOf('\n\n');
  if (end > 0) end += 1;
  if ((end < 0 ? b.length : end) > MAX_REQUEST) return closed('too long');
  if (end < 0) {
    if (!halfClosed) return closed('never ends (timed out)');
    // complete lines and then EOF are taken as the whole request
    if (b.length === 0 || b[b.length - 1] !== 0x0a) return closed('ends mid-line');
    end = b.length;
  }
  const req = b.subarray(0, end);
  if (!printable(req, true)) return closed('not printable ASCII');
  const text = end === 0 ? '' : req.toString('latin1', 0, end - 1);
  const seen = new Map<string, string>();
  for (const line of text === '' ? [] : text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) return closed(`no "=" in ${line}`);
    const [key, value] = [line.slice(0, eq), line.slice(eq + 1)];
    if (!KEYS.includes(key)) return closed(`unknown key ${key}`);
    if (seen.has(key)) return closed(`repeated ${key}`);
    if ((key === 'assume_yes_for_ask' || key === 'just_evaluate') && value !== 'yes' && value !== 'no') return closed(`bad boolean ${value}`);
    seen.set(key, value);
  }
  for (const k of KEYS.slice(0, 3)) if (!seen.has(k)) return closed(`missing ${k}`);
  // bytes after the empty line: the daemon may answer and close before they arrive, and the
  // client, still writing, may then see the connection reset before it reads the answer
  return {
    answer: end + 1 < b.length ? 'either' : true,
    why: 'data after the request',
    q: {
      source: seen.get('source')!,
      target: seen.get('intended_target')!,
      service: seen.get('service_and_arg')!,
      requestedSource: seen.get('requested_source') ?? null,
      assumeYes: seen.get('assume_yes_for_ask') === 'yes',
      justEvaluate: seen.get('just_evaluate') === 'yes',
    },
  };
}

const NAME = /^[A-Za-z0-9@_.-]+$/;

/** A policy.EvalSimple (`gui` false) or policy.EvalGUI call, complete at EOF. */
export function expectServiceFrame(b: Buffer, gui: boolean, domains: Record<string, DomainJson>): Expect {
  const nul = b.indexOf(0);
  if (nul < 0) return closed('no end of header');
  const payload = b.subarray(nul + 1);
  if (payload.length > MAX_PAYLOAD) return closed('payload too long');
  const header = b.subarray(0, nul);
  if (!printable(header, false)) return closed('header not printable');
  const h = header.toString('latin1');
  const space = h.indexOf(' ');
  if (space < 0) return closed('no remote in header');
  const command = h.slice(0, space);
  const remote = h.slice(space + 1).split(' ')[0]!;
  const plus = command.indexOf('+');
  const invoked = plus < 0 ? command : command.slice(0, plus);
  if (invoked !== (gui ? 'policy.EvalGUI' : 'policy.EvalSimple')) return closed(`wrong service ${invoked}`);
  const queried = plus < 0 ? '' : command.slice(plus + 1);
  if (queried === '' || queried.startsWith('+')) return closed('no service to query');
  const p = payload.indexOf(0);
  if (p < 0) return closed('no NUL in payload');
  const source = payload.subarray(0, p);
  const target = payload.subarray(p + 1);
  if (target.length < 1 || target.length > MAX_TARGET || source.length < 1 || source.length > MAX_SOURCE) return closed('name length');
  const [s, t] = [source.toString('latin1'), target.toString('latin1')];
  if (!NAME.test(s) || !NAME.test(t)) return closed('invalid name');
  if (gui) {
    const tag = `guivm-${remote}`;
    const has = (n: string) => Object.hasOwn(domains, n) && ((domains[n]!['tags'] as string[] | undefined) ?? []).includes(tag);
    if (!has(s) || !has(t)) return closed(`not the GUI qube of both`);
  }
  const q = { source: s, target: t, service: queried, requestedSource: null, assumeYes: true, justEvaluate: true };
  // SPEC §8 bounds the data, not the header: past the policy-request bound, refusing is fine too
  return nul > MAX_REQUEST ? { answer: 'either', q, why: 'header longer than a policy request' } : { answer: true, q };
}

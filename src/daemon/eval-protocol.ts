/**
 * `policy.EvalSimple` / `policy.EvalGUI` as qrexec socket services (SPEC
 * §8): qrexec writes the header `SERVICE+ARG REMOTE[ …]\0`, then the caller's
 * data `SOURCE\0TARGET` (at most 96 bytes) follows until EOF. ARG is the
 * service whose policy is asked about; REMOTE the qube that called.
 */
import { describeByte, firstUnprintable, MORE, type Received, type Verdict } from './bytes.js';
import { quoted } from './protocol.js';

/** The header carries the queried service name: the same bound as a policy request. */
export const MAX_HEADER_BYTES = 66_000;
/** The caller's data: `SOURCE\0TARGET`, at most 31 + 1 + 63 bytes as the reference reads it. */
export const MAX_PAYLOAD_BYTES = 96;
const MAX_SOURCE = 31;
const MAX_TARGET = 63;

/** Qube names as qrexec sanitises them (the reference's `sanitize_domain_name`). */
const NAME = /^[A-Za-z0-9@_.-]+$/;

export interface ServiceCall {
  /** The service qrexec says was invoked (must be ours). */
  invoked: string;
  /** The service+argument asked about, `null` when the call had no argument. */
  queried: string | null;
  /** The qube that called the service. */
  remote: string;
  payload: Buffer;
}

export type ServiceScan = Verdict<ServiceCall>;

/** Look at what arrived so far; the call is complete at EOF. */
export function scanServiceCall(got: Received, eof: boolean): ServiceScan {
  const b = got.bytes();
  const nul = b.indexOf(0);
  if ((nul < 0 ? b.length : nul) > MAX_HEADER_BYTES) return { kind: 'bad', reason: `service header longer than ${MAX_HEADER_BYTES} bytes` };
  if (nul < 0) return eof ? { kind: 'bad', reason: 'connection closed before the end of the service header' } : MORE;
  if (b.length - nul - 1 > MAX_PAYLOAD_BYTES) return { kind: 'bad', reason: `more than ${MAX_PAYLOAD_BYTES} bytes of data` };
  if (!eof) return MORE;
  const bad = firstUnprintable(b, nul, false);
  if (bad >= 0) return { kind: 'bad', reason: `${describeByte(b[bad]!)} in the service header` };
  const header = b.toString('latin1', 0, nul);
  const space = header.indexOf(' ');
  if (space < 0) return { kind: 'bad', reason: `malformed service header ${quoted(header)}` };
  const command = header.slice(0, space);
  const plus = command.indexOf('+');
  return {
    kind: 'done',
    value: {
      invoked: plus < 0 ? command : command.slice(0, plus),
      queried: plus < 0 ? null : command.slice(plus + 1),
      remote: header.slice(space + 1).split(' ')[0]!,
      payload: b.subarray(nul + 1),
    },
  };
}

/** `SOURCE\0TARGET` → the two names, or why they are refused. */
export function parsePayload(payload: Buffer): { source: string; target: string } | { reason: string } {
  const nul = payload.indexOf(0);
  if (nul < 0) return { reason: 'no NUL between source and target' };
  const source = payload.subarray(0, nul);
  const target = payload.subarray(nul + 1);
  if (target.length < 1 || target.length > MAX_TARGET)
    return { reason: `a target of length ${target.length}, but the limit is ${MAX_TARGET}` };
  if (source.length < 1 || source.length > MAX_SOURCE)
    return { reason: `a source of length ${source.length}, but the limit is ${MAX_SOURCE}` };
  const s = source.toString('latin1');
  const t = target.toString('latin1');
  if (!NAME.test(s) || !NAME.test(t)) return { reason: 'an invalid qube name' };
  return { source: s, target: t };
}

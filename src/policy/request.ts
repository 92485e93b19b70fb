/**
 * A qrexec request as the policy sees it: SERVICE[+ARG], the calling qube and
 * the target it asked for, validated and normalised (SPEC §3.1, §3.3).
 */
import { expected } from '../errors.js';
import { isDom0Text, parseToken, TokenError } from '../parser/tokens.js';
import { CHARSET } from '../parser/text.js';
import { MAX_REQUEST_FIELD } from '../parser/limits.js';
import type { Qube, SystemInfo } from './system-info.js';

/**
 * The requested target after normalisation. `text` is the value as the
 * policy compares it: what the caller wrote, or `@default` for an empty or
 * unknown one. `dom0` is any of dom0's spellings that Qubes accepts here:
 * `@adminvm` always, `dom0` and the zero uuid when the system info has them
 * as keys; `qube` is any other key of the system info (a name or `uuid:U`).
 */
export type TargetValue =
  | { kind: 'qube'; text: string; qube: Qube }
  | { kind: 'dom0'; text: string }
  | { kind: 'default'; text: '@default' }
  | { kind: 'dispvm'; text: '@dispvm' }
  | { kind: 'dispvm-template'; text: string; template: Qube };

export interface Source {
  /** As the caller gave it. */
  readonly text: string;
  /** The qube it names (a name or `uuid:` key of the system info), as Qubes looks it up; `@adminvm` names none. */
  readonly qube: Qube | null;
  /** One of dom0's spellings (compared as text, as Qubes does). */
  readonly isDom0: boolean;
}

export interface Request {
  /** `SERVICE[+ARG]` verbatim (log lines and the QUBESRPC command use it as is). */
  readonly serviceArg: string;
  readonly service: string;
  /** Starts with `+`; `+` alone when the call has no argument. */
  readonly argument: string;
  readonly source: Source;
  readonly target: TargetValue;
  /** The RemoteVM a relay asked on behalf of (SPEC §3.4), as the relay spelled it, when given. */
  readonly requestedSource: string | null;
  /** Things worth a warning line (e.g. unknown target treated as @default). */
  readonly warnings: readonly string[];
}

export interface RequestInput {
  source: string;
  target: string;
  service: string;
  requestedSource?: string | null;
}

export type ParsedRequest =
  | { ok: true; request: Request }
  | {
      ok: false;
      reason: string;
      service: string | null;
      argument: string | null;
      /**
       * The normalised target when the target itself was valid and another
       * part was not (Qubes checks the target first, and not services at
       * all, so it reports one); otherwise null (SPEC §3.3).
       */
      requestedTarget: string | null;
    };

/** Split `SERVICE[+ARG]`; `svc` has argument `+`. */
export function splitServiceArg(serviceArg: string): { service: string; argument: string } {
  const plus = serviceArg.indexOf('+');
  return plus < 0
    ? { service: serviceArg, argument: '+' }
    : { service: serviceArg.slice(0, plus), argument: serviceArg.slice(plus) };
}

/** Why a `SERVICE[+ARG]` string is unusable, or null if it is fine. */
export function checkServiceArg(service: string, argument: string): string | null {
  if (service === '') return 'empty service name';
  if (!CHARSET.service.test(service)) return `invalid characters in service name ${JSON.stringify(service)}`;
  if (!CHARSET.rpcname.test(argument)) return `invalid characters in argument ${JSON.stringify(argument)}`;
  return null;
}

/**
 * Normalise a requested target (or a `target=` to verify it the same way, as
 * Qubes does); throws TokenError for targets a caller may not name.
 */
export function normaliseTarget(text: string, si: SystemInfo, warnings: string[]): TargetValue {
  if (text === '') return { kind: 'default', text: '@default' };
  const tok = parseToken(text, 'request');
  switch (tok.kind) {
    case 'default':
      return { kind: 'default', text: '@default' };
    case 'dispvm':
      return { kind: 'dispvm', text: '@dispvm' };
    case 'adminvm':
      // `dom0` and the zero uuid are names like any other: they must exist as keys
      if (text === '@adminvm' || si.lookup(text) !== undefined) return { kind: 'dom0', text };
      break;
    case 'dispvm-template': {
      const name = text.slice('@dispvm:'.length);
      const q = si.lookup(name);
      if (q === undefined || !q.templateForDispvms) throw new TokenError(`not a template for dispvm: ${name}`);
      return { kind: 'dispvm-template', text, template: q };
    }
    case 'qube': {
      const q = si.lookup(text);
      if (q === undefined) break;
      return { kind: 'qube', text, qube: q };
    }
    /* c8 ignore next 2 -- parseToken(…, 'request') admits no other kinds */
    default:
      throw new TokenError(`invalid intendedtarget token: ${text}`);
  }
  warnings.push(`target ${JSON.stringify(text)} does not exist, using @default instead`);
  return { kind: 'default', text: '@default' };
}

export function resolveSource(text: string, si: SystemInfo): Source {
  return { text, qube: si.lookup(text) ?? null, isDom0: isDom0Text(text) };
}

/**
 * Whether a source is a qube the system knows (SPEC §3.1: any other source
 * is denied): a key of the system info, or `@adminvm` when dom0 is listed.
 */
export function isKnownSource(src: Source, si: SystemInfo): boolean {
  return src.qube !== null || (src.text === '@adminvm' && si.dom0 !== undefined);
}

/** Validate and normalise a request against the system. */
export function parseRequest(input: RequestInput, si: SystemInfo): ParsedRequest {
  const { service, argument } = splitServiceArg(input.service);
  for (const [what, v] of [
    ['source', input.source],
    ['target', input.target],
    ['service', input.service],
    ['requested source', input.requestedSource ?? ''],
  ] as const) {
    if (v.length > MAX_REQUEST_FIELD)
      return { ok: false, reason: `bad request: ${what} longer than ${MAX_REQUEST_FIELD} characters`, service: null, argument: null, requestedTarget: null };
  }
  const warnings: string[] = [];
  let target: TargetValue;
  try {
    target = normaliseTarget(input.target, si, warnings);
  } catch (err) {
    expected(err, TokenError);
    return { ok: false, reason: `bad request: ${err.message}`, service, argument, requestedTarget: null };
  }
  const bad = checkServiceArg(service, argument);
  // the target itself was fine: report it normalised, as Qubes (which does not check services) would
  if (bad !== null) return { ok: false, reason: `bad request: ${bad}`, service, argument, requestedTarget: target.text };
  let source = resolveSource(input.source, si);
  let requestedSource: string | null = null;
  // an empty requested source is none at all (Qubes tests it for truth)
  if (input.requestedSource) {
    const rs = input.requestedSource;
    const remote = si.lookup(rs);
    if (remote === undefined || remote.type !== 'RemoteVM')
      return {
        ok: false,
        reason: `bad request: requested source ${JSON.stringify(rs)} is not a known RemoteVM`,
        service,
        argument,
        requestedTarget: target.text,
      };
    // the relay must be a known qube calling under the name the RemoteVM gives (compared as written, as Qubes does)
    if (source.qube === null || remote.relayvm !== input.source)
      return {
        ok: false,
        reason: `bad request: ${JSON.stringify(input.source)} is not the relay of ${rs}`,
        service,
        argument,
        requestedTarget: target.text,
      };
    requestedSource = rs;
    source = { text: rs, qube: remote, isDom0: false };
  }
  return {
    ok: true,
    request: { serviceArg: input.service, service, argument, source, target, requestedSource, warnings },
  };
}

/**
 * A qrexec request as the policy sees it: SERVICE[+ARG], the calling qube and
 * the target it asked for, validated and normalised (SPEC §3.1, §3.3).
 */
import { expected } from '../errors.js';
import { parseToken, TokenError, ZERO_UUID } from '../parser/tokens.js';
import { CHARSET } from '../parser/text.js';
import { MAX_REQUEST_FIELD } from '../parser/limits.js';
import type { Qube, SystemInfo } from './system-info.js';

/** The requested target after normalisation. `text` is what the caller wrote. */
export type TargetValue =
  | { kind: 'qube'; text: string; qube: Qube }
  | { kind: 'dom0'; text: string }
  | { kind: 'default'; text: '@default' }
  | { kind: 'dispvm'; text: '@dispvm' }
  | { kind: 'dispvm-template'; text: string; template: Qube };

export interface Source {
  /** As the caller gave it. */
  readonly text: string;
  /** The qube it names; `null` for an unknown source (always denied in the end). */
  readonly qube: Qube | null;
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
  /** The RemoteVM a relay asked on behalf of (SPEC §3.4), when given. */
  readonly requestedSource: Qube | null;
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
      /** Always null: an invalid request has no normalised target (SPEC §3.3). */
      requestedTarget: null;
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

/** dom0 spelled any way the policy accepts. */
function isDom0Qube(q: Qube | undefined): boolean {
  return q !== undefined && q.name === 'dom0';
}

/** Normalise a requested target; throws TokenError for targets a caller may not name. */
export function normaliseTarget(text: string, si: SystemInfo, warnings: string[]): TargetValue {
  if (text === '') return { kind: 'default', text: '@default' };
  const tok = parseToken(text, 'request');
  switch (tok.kind) {
    case 'default':
      return { kind: 'default', text: '@default' };
    case 'dispvm':
      return { kind: 'dispvm', text: '@dispvm' };
    case 'adminvm':
      if (text === 'dom0' && si.dom0 === undefined) break;
      return { kind: 'dom0', text };
    case 'dispvm-template': {
      const ref = tok.ref.by === 'name' ? tok.ref.name : 'uuid:' + tok.ref.uuid;
      const q = si.lookup(ref);
      if (q === undefined || !q.templateForDispvms) throw new TokenError(`not a template for dispvm: ${ref}`);
      return { kind: 'dispvm-template', text, template: q };
    }
    case 'qube': {
      const q = si.lookup(text);
      if (q === undefined) break;
      if (isDom0Qube(q)) return { kind: 'dom0', text };
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
  const dom0Spelling = text === '@adminvm' || text === 'uuid:' + ZERO_UUID;
  const qube = dom0Spelling ? si.dom0 : si.lookup(text);
  return { text, qube: qube ?? null, isDom0: dom0Spelling || isDom0Qube(qube) };
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
  if (bad !== null) return { ok: false, reason: `bad request: ${bad}`, service, argument, requestedTarget: null };
  let source = resolveSource(input.source, si);
  let requestedSource: Qube | null = null;
  if (input.requestedSource != null) {
    const remote = si.get(input.requestedSource);
    if (remote === undefined || remote.type !== 'RemoteVM')
      return {
        ok: false,
        reason: `bad request: requested source ${JSON.stringify(input.requestedSource)} is not a known RemoteVM`,
        service,
        argument,
        requestedTarget: null,
      };
    if (source.qube === null || remote.relayvm !== source.qube.name)
      return {
        ok: false,
        reason: `bad request: ${JSON.stringify(input.source)} is not the relay of ${remote.name}`,
        service,
        argument,
        requestedTarget: null,
      };
    requestedSource = remote;
    source = { text: remote.name, qube: remote, isDom0: false };
  }
  return {
    ok: true,
    request: { serviceArg: input.service, service, argument, source, target, requestedSource, warnings },
  };
}

/**
 * The rules that can concern one calling qube.
 *
 * evaluate() decides by the first rule whose service, argument, source and
 * target match, and collects ask targets only from rules whose service,
 * argument and source match; a rule failing `matchesServiceArgument` or
 * `matchesSource` (the evaluator's own matchers) therefore never takes part
 * in a decision for that caller. Leaving those rules out changes no decision
 * while evaluate() walks a handful of rules instead of the whole service.
 */
import type { PolicyError } from '../parser/errors.js';
import type { Rule } from '../parser/rule.js';
import { matchesServiceArgument, matchesSource } from '../policy/match.js';
import type { Request, Source } from '../policy/request.js';
import type { SystemInfo } from '../policy/system-info.js';

/** `candidates` (a service's rules, or the error that denies it) narrowed to one caller. */
export function narrowRules(
  candidates: readonly Rule[] | PolicyError,
  service: string,
  argument: string,
  src: Source,
  si: SystemInfo,
): readonly Rule[] | PolicyError {
  // an empty list may be a marker (R4.0 "policy not found"): hand it over as it is
  if (!Array.isArray(candidates) || candidates.length === 0) return candidates;
  const sa = { service, argument } as Request;
  return (candidates as readonly Rule[]).filter((r) => matchesServiceArgument(r, sa) && matchesSource(r.source, src, si));
}

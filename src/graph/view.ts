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
import { matchesServiceArgument, matchesSource } from '../policy/match.js';
import { ruleList, type Candidates } from '../policy/policy.js';
import type { Request, Source } from '../policy/request.js';
import type { SystemInfo } from '../policy/system-info.js';

/** `candidates` (a service's rules, or why there are none) narrowed to one caller. */
export function narrowRules(candidates: Candidates, service: string, argument: string, src: Source, si: SystemInfo): Candidates {
  if (candidates.kind !== 'rules') return candidates;
  const sa = { service, argument } as Request;
  return ruleList(candidates.rules.filter((r) => matchesServiceArgument(r, sa) && matchesSource(r.source, src, si)));
}

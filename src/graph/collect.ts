/**
 * Evaluate every request of the graph's space and keep the calls that may
 * happen: allow always, ask when asked for.
 *
 * Every (service, source, target) goes through the evaluator; three things
 * keep that fast without a second implementation of matching:
 * - each request is parsed once per (source, target) and evaluated with
 *   `evaluateRequest` for each service;
 * - evaluate() sees only the rules that concern the caller (view.ts);
 * - requests that evaluate() is bound to answer alike are answered once:
 *   the same caller facing rules that read the same (services whose rules
 *   for that caller differ only in where they are written, such as the
 *   usual `@anyvm @anyvm deny` defaults), and the same ask rule deciding
 *   for several targets (see probe.ts).
 * test/graph checks the result against evaluate() on every request.
 */
import type { Rule } from '../parser/rule.js';
import type { RuleSet } from '../policy/policy.js';
import { parseRequest, resolveSource, type Request } from '../policy/request.js';
import type { SystemInfo } from '../policy/system-info.js';
import { Prober } from './probe.js';
import type { ServicePair } from './space.js';
import { narrowRules } from './view.js';

export interface GraphEdge {
  source: string;
  /** As the reference draws it: the deciding rule's `target=`, else the requested target. */
  target: string;
  /** The service requested; `*` for the pseudo-service standing for every service no rule names. */
  service: string;
  /** The argument requested (`+` for none). */
  argument: string;
  action: 'allow' | 'ask';
  rule: Rule;
}

export interface Space {
  sources: readonly string[];
  targets: readonly string[];
  pairs: readonly ServicePair[];
  /** A service name no rule names: how the `*` pseudo-service is requested. */
  otherService: string;
}

/** A call that may happen: the target's index in the space, and the deciding rule's place among the caller's rules. */
interface Hit {
  target: number;
  action: 'allow' | 'ask';
  rule: number;
}

/** A request whose service and argument are set for each service in turn. */
type Reusable = { -readonly [K in keyof Request]: Request[K] };

/** Every allow (and, with `includeAsk`, ask) decision of the space, services in order, then sources, then targets. */
export function* graphEdges(ruleset: RuleSet, si: SystemInfo, space: Space, includeAsk: boolean): Generator<GraphEdge> {
  // parsed once; a target the evaluator refuses as a request (a qube named like a keyword) has no edges
  const requests: (Reusable | null)[][] = space.sources.map((source) =>
    space.targets.map((target) => {
      const parsed = parseRequest({ source, target, service: space.otherService, requestedSource: null }, si);
      return parsed.ok ? { ...parsed.request } : null;
    }),
  );
  const prober = new Prober();
  // per source: the hits of each kind of rule list met so far
  const memo = space.sources.map(() => new Map<string, Hit[]>());
  for (const pair of space.pairs) {
    const service = pair.service ?? space.otherService;
    const argument = pair.argument ?? '+';
    const label = pair.service ?? '*';
    const candidates = ruleset.candidates(service, argument);
    for (const [s, source] of space.sources.entries()) {
      const view = narrowRules(candidates, service, argument, resolveSource(source, si), si);
      const rules: readonly Rule[] = view.kind === 'rules' ? view.rules : [];
      const key = view.kind === 'rules' ? prober.key(rules) : null;
      let hits = key === null ? undefined : memo[s]!.get(key);
      if (hits === undefined) {
        hits = [];
        const decide = prober.decider(ruleset.error, view, includeAsk);
        const place = new Map(rules.map((r, i) => [r, i]));
        for (const [t, req] of requests[s]!.entries()) {
          if (req === null) continue;
          req.service = service;
          req.argument = argument;
          req.serviceArg = service + argument;
          const outcome = decide(req, si);
          if (outcome !== null) hits.push({ target: t, action: outcome.action, rule: place.get(outcome.rule)! });
        }
        if (key !== null) memo[s]!.set(key, hits);
      }
      for (const h of hits) {
        const rule = rules[h.rule]!;
        const redirect = rule.redirect;
        yield { source, target: redirect ? redirect.text : space.targets[h.target]!, service: label, argument, action: h.action, rule };
      }
    }
  }
}

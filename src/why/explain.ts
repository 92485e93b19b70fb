/**
 * Each logged request explained with today's policy: the decision and the
 * rule behind it (explain's own text: the deciding rule, the rules passed
 * over and why), whether today's decision differs from the logged one, and
 * when a rule in one file decides before a rule in another file that
 * would have allowed the call, that it shadows it.
 */
import type { Rule } from '../parser/rule.js';
import type { Decision } from '../policy/decision.js';
import type { RuleSet } from '../policy/policy.js';
import { parseRequest, type RequestInput } from '../policy/request.js';
import type { SystemInfo } from '../policy/system-info.js';
import { explain, mismatchReason } from '../render/explain.js';
import { decisionText, ruleLocation, type ShowPath } from '../render/text.js';
import type { Seen } from './log-lines.js';

export interface Explained {
  seen: Seen;
  decision: Decision;
  text: string;
}

/** Later rules, in other files, that would have allowed (or asked about) this request had the deciding rule not decided first. */
export function shadowedBy(ruleset: RuleSet, si: SystemInfo, input: RequestInput, d: Decision): Rule[] {
  const decider = d.rule;
  if (decider === null || d.result === 'allow') return [];
  const parsed = parseRequest(input, si);
  /* c8 ignore next -- a rule decided, so the request parsed */
  if (!parsed.ok) return [];
  const req = parsed.request;
  const candidates = ruleset.candidates(req.service, req.argument);
  /* c8 ignore next -- a rule decided, so there were rules */
  if (candidates.kind !== 'rules') return [];
  const after = candidates.rules.slice(candidates.rules.indexOf(decider) + 1);
  return after.filter((r) => r.file !== decider.file && r.action !== 'deny' && (d.result === 'deny' || r.action === 'allow') && mismatchReason(r, req, si) === 'matches');
}

/** Does today's decision (an allow or a deny) say what the log said? */
function sameAsLogged(seen: Seen, d: Decision): boolean {
  const logged = new Set<string>([...seen.outcomes.keys()].map((o) => (o.startsWith('allowed') ? 'allow' : 'deny')));
  return logged.size === 1 && logged.has(d.result);
}

function indent(text: string, by: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => (l === '' ? '' : by + l))
    .join('\n');
}

export function explainSeen(seen: Seen, ruleset: RuleSet, si: SystemInfo, show: ShowPath): Explained {
  const input: RequestInput = { source: seen.source, target: seen.target, service: seen.service, requestedSource: null };
  const { text: details, decision } = explain(ruleset, si, input, { show });
  const out: string[] = [];
  out.push(`${seen.source} -> ${seen.target}  ${seen.service}  (${seen.count} line${seen.count === 1 ? '' : 's'})`);
  for (const [outcome, n] of seen.outcomes) out.push(`  logged: ${outcome}${n > 1 ? ` (${n} times)` : ''}`);
  out.push(`  today:  ${decisionText(decision, show)}`);
  if (decision.result === 'ask') out.push('          (an ask: the log shows what the user answered)');
  else if (!sameAsLogged(seen, decision)) out.push('  CHANGED: the policy decides this request differently today than the log shows');
  const decider = decision.rule;
  for (const r of shadowedBy(ruleset, si, input, decision)) {
    const verb = decision.result === 'deny' ? 'denies' : 'asks';
    const could = r.action === 'allow' ? 'could allow' : 'could ask';
    out.push(`  shadowed: ${ruleLocation(decider!, show)} ${verb} before ${ruleLocation(r, show)} ${could}`);
  }
  // explain's details after its headline (the request and decision are said above)
  const rest = details.indexOf('\n\n');
  if (rest >= 0) out.push(indent(details.slice(rest + 2), '    '));
  return { seen, decision, text: out.join('\n') + '\n' };
}

/** `--summary`: counts per request and per deciding rule, most frequent first (ties: first seen first). */
export function summary(all: readonly Explained[], show: ShowPath): string {
  const byCount = <T extends { count: number }>(xs: T[]) => xs.map((x, i) => [x, i] as const).sort((a, b) => b[0].count - a[0].count || a[1] - b[1]).map(([x]) => x);
  const width = (n: number) => String(n).padStart(6);
  const out = ['requests (count, source -> target, service, as logged):'];
  for (const e of byCount(all.map((e) => ({ ...e, count: e.seen.count }))))
    out.push(`${width(e.count)}  ${e.seen.source} -> ${e.seen.target}  ${e.seen.service}  ${[...e.seen.outcomes.keys()].join('; ')}`);
  const rules = new Map<string, { count: number; label: string }>();
  for (const e of all) {
    const d = e.decision;
    const label = d.rule ? `${ruleLocation(d.rule, show)}  ${d.rule.text.replace(/\s+/g, ' ')}` : `(no rule) ${decisionText(d, show)}`;
    const r = rules.get(label) ?? { count: 0, label };
    r.count += e.seen.count;
    rules.set(label, r);
  }
  out.push('', 'deciding rules today (count of logged lines they decide):');
  for (const r of byCount([...rules.values()])) out.push(`${width(r.count)}  ${r.label}`);
  return out.join('\n') + '\n';
}

/**
 * Answering the asks of a graph cheaply, still through the evaluator.
 *
 * An `ask` decision makes evaluate() collect the targets to offer from every
 * rule of the service: by far its most expensive step, and a graph meets it
 * for thousands of targets. What the graph needs is only whether the call
 * may happen, and evaluate() settles that in two steps that do not depend on
 * each other's cost: *which* rule decides (the matching, which depends on
 * the target), and, for an ask rule, whether any target is left to offer
 * (which depends on the rule, the caller and the policy, never on the
 * target asked for; the target only names the default choice).
 *
 * So each request is first evaluated against a probe copy of the rules in
 * which every ask rule is a deny rule: evaluate() matches exactly as it
 * would (matching ignores the action) and returns the deciding rule cheaply.
 * Allow and deny decisions are final as they are (allow never looks at
 * other rules). When the probe names an ask rule, the real rules are
 * evaluated once for that rule and caller, and that answer stands for every
 * target the rule decides.
 */
import type { PolicyError } from '../parser/errors.js';
import type { Rule } from '../parser/rule.js';
import { evaluateRequest } from '../policy/evaluate.js';
import { ruleList, type Candidates, type RuleSet } from '../policy/policy.js';
import type { Request } from '../policy/request.js';
import type { SystemInfo } from '../policy/system-info.js';

export interface Outcome {
  action: 'allow' | 'ask';
  rule: Rule;
}

/** Decides the requests of one caller against one list of rules. */
export type Decider = (req: Request, si: SystemInfo) => Outcome | null;

export class Prober {
  private readonly shapes = new Map<string, number>();
  private readonly shapeOf = new Map<Rule, number>();
  private readonly probes = new Map<Rule, Rule>();
  private readonly asks = new Map<Rule, Rule>();

  /**
   * A string naming what evaluate() can make of this list of rules (for a
   * caller the rules all concern): per rule, the columns and parameters that
   * decide allow, ask or deny, never where the rule is written. Lists with
   * the same key decide every request alike, by the rule at the same place.
   * (`notify=` and `default_target=` change a decision's details, never its
   * result; `user=` can: one qrexec-daemon could not be sent denies.)
   */
  key(rules: readonly Rule[]): string {
    let key = '';
    for (const r of rules) {
      let id = this.shapeOf.get(r);
      if (id === undefined) {
        const shape = [r.source.text, r.target.text, r.action, r.redirect?.text ?? '\0', r.autostart, r.user ?? '\0'].join('\0');
        id = this.shapes.get(shape);
        if (id === undefined) this.shapes.set(shape, (id = this.shapes.size));
        this.shapeOf.set(r, id);
      }
      key += id + ',';
    }
    return key;
  }

  /** The deny stand-in of an ask rule. */
  private probe(rule: Rule): Rule {
    let p = this.probes.get(rule);
    if (p === undefined) {
      p = { ...rule, action: 'deny' };
      this.probes.set(rule, p);
      this.asks.set(p, rule);
    }
    return p;
  }

  /**
   * A decider for one caller and its rules (`rules` already narrowed to it,
   * or the error that denies it); ask outcomes are worked out only when wanted.
   */
  decider(error: PolicyError | null, rules: Candidates, includeAsk: boolean): Decider {
    const real: RuleSet = { error, candidates: () => rules };
    const probeRules = rules.kind === 'rules' ? ruleList(rules.rules.map((r) => (r.action === 'ask' ? this.probe(r) : r))) : rules;
    const probe: RuleSet = { error, candidates: () => probeRules };
    // the answer of each ask rule for this caller: the rule if the ask can be made, else null
    const answers = new Map<Rule, Rule | null>();
    return (req, si) => {
      const d = evaluateRequest(probe, si, req);
      if (d.result === 'allow') return { action: 'allow', rule: d.rule! };
      // a call to the caller itself: Qubes' evaluate() allows it (only carrying it out is
      // refused) and qrexec-policy-graph draws it, a self-loop; ours denies it as a loopback
      if (d.result === 'deny' && d.kind === 'loopback') return { action: 'allow', rule: d.rule! };
      const asked = d.rule === null ? undefined : this.asks.get(d.rule);
      if (asked === undefined || !includeAsk) return null;
      let answer = answers.get(asked);
      if (answer === undefined) {
        const r = evaluateRequest(real, si, req);
        answer = r.result === 'ask' ? r.rule : null;
        answers.set(asked, answer);
      }
      return answer === null ? null : { action: 'ask', rule: answer };
    };
  }
}

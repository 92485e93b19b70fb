/** The `eval --json` decision object (SPEC §3.3), fields in the documented order. */
import type { Decision } from '../policy/decision.js';

export interface DecisionJson {
  result: 'allow' | 'deny' | 'ask';
  service: string | null;
  argument: string | null;
  source: string;
  requested_target: string | null;
  target: string | null;
  targets: string[] | null;
  default_target: string | null;
  user: string | null;
  autostart: boolean | null;
  notify: boolean;
  rule: { file: string; line: number | null } | null;
  requested_source?: string;
  reason?: string;
}

export function decisionToJson(d: Decision): DecisionJson {
  const out: DecisionJson = {
    result: d.result,
    service: d.service,
    argument: d.argument,
    source: d.source,
    requested_target: d.requestedTarget,
    target: d.result === 'allow' ? d.target : null,
    targets: d.result === 'ask' ? d.targets : null,
    default_target: d.result === 'ask' ? d.defaultTarget : null,
    user: d.result === 'deny' ? null : d.user,
    autostart: d.result === 'deny' ? null : d.autostart,
    notify: d.notify,
    rule: d.rule ? { file: d.rule.file, line: d.rule.line } : null,
  };
  if (d.requestedSource !== null) out.requested_source = d.requestedSource;
  if (d.result === 'deny') out.reason = d.reason;
  return out;
}

export function decisionJsonLine(d: Decision): string {
  return JSON.stringify(decisionToJson(d));
}

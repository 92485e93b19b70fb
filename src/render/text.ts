/**
 * A decision and a rule as people read them: one line for `eval`, a rule's
 * location and text for explain, list, test and diff.
 */
import { ruleWhere, type Rule } from '../parser/rule.js';
import type { Decision } from '../policy/decision.js';

/** A rule's text with runs of whitespace folded (service files use tabs). */
export function ruleDisplay(rule: Rule): string {
  return rule.text.replace(/\s+/g, ' ');
}

/** `FILE:LINE`; a `!compat-4.0` implicit deny names its file and what it is. */
export function ruleLocation(rule: Rule): string {
  return rule.line === null ? `${rule.file} (implicit deny after a specific-argument file)` : `${rule.file}:${rule.line}`;
}

/** ` (rule FILE:LINE)`, unless the text already names the rule's place. */
function ruleSuffix(d: Decision, text: string): string {
  if (!d.rule) return '';
  const where = ruleWhere(d.rule);
  return text.includes(where) ? '' : ` (rule ${where})`;
}

/** One line for people: `allow to personal (rule …:12)`. */
export function decisionText(d: Decision): string {
  switch (d.result) {
    case 'allow': {
      const extra = [d.user ? `user=${d.user}` : '', d.autostart ? '' : 'autostart=no', d.notify ? 'notify=yes' : '']
        .filter(Boolean)
        .join(' ');
      return `allow to ${d.target}${extra ? ' ' + extra : ''}${ruleSuffix(d, '')}`;
    }
    case 'ask':
      return `ask: choose from ${d.targets.join(', ')}` + (d.defaultTarget ? ` (default ${d.defaultTarget})` : '') + ruleSuffix(d, '');
    case 'deny':
      return `deny: ${d.reason}${ruleSuffix(d, d.reason)}`;
  }
}

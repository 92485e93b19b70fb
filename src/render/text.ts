/**
 * A decision and a rule as people read them: one line for `eval`, a rule's
 * location and text for explain, list, test and diff.
 */
import { joinPath } from '../parser/file-source.js';
import { ruleWhere, type Rule } from '../parser/rule.js';
import type { Decision } from '../policy/decision.js';

/**
 * How a path is shown to people. The loader names a file it includes by
 * its real path; shown as the command line named the directory it is in,
 * every location of one output reads the same way (see asGiven).
 */
export type ShowPath = (file: string) => string;

export const asIs: ShowPath = (file) => file;

/**
 * Paths under a directory the command line gave, under the name it was
 * given by (`include/openurl` of `--path .` is `include/openurl`, not
 * `/home/u/policy.d/include/openurl`); `dirs` pairs each given name with
 * its real path. Other paths are shown as they are.
 */
export function asGiven(dirs: ReadonlyArray<readonly [given: string, real: string]>): ShowPath {
  // the deepest directory first: a directory given inside another one is named by its own name
  const roots = [...dirs].sort((a, b) => b[1].length - a[1].length);
  return (file) => {
    for (const [given, real] of roots) {
      if (file === real) return given;
      const prefix = real.endsWith('/') ? real : real + '/';
      if (file.startsWith(prefix)) return joinPath(given, file.slice(prefix.length));
    }
    return file;
  };
}

/** A rule's text with runs of whitespace folded (service files use tabs). */
export function ruleDisplay(rule: Rule): string {
  return rule.text.replace(/\s+/g, ' ');
}

/** `FILE:LINE`; a `!compat-4.0` implicit deny names its file and what it is. */
export function ruleLocation(rule: Rule, show: ShowPath = asIs): string {
  return rule.line === null ? `${show(rule.file)} (implicit deny after a specific-argument file)` : `${show(rule.file)}:${rule.line}`;
}

/** A decision's reason with the deciding rule's place shown as `show` shows it. */
export function reasonText(d: Extract<Decision, { result: 'deny' }>, show: ShowPath = asIs): string {
  if (d.rule === null) return d.reason;
  return d.reason.replaceAll(ruleWhere(d.rule), ruleWhere({ ...d.rule, file: show(d.rule.file) }));
}

/** ` (rule FILE:LINE)`, unless the text already names the rule's place. */
function ruleSuffix(d: Decision, text: string, show: ShowPath): string {
  if (!d.rule) return '';
  const where = ruleWhere({ ...d.rule, file: show(d.rule.file) });
  return text.includes(where) ? '' : ` (rule ${where})`;
}

/** One line for people: `allow to personal (rule …:12)`. */
export function decisionText(d: Decision, show: ShowPath = asIs): string {
  switch (d.result) {
    case 'allow': {
      const extra = [d.user ? `user=${d.user}` : '', d.autostart ? '' : 'autostart=no', d.notify ? 'notify=yes' : '']
        .filter(Boolean)
        .join(' ');
      return `allow to ${d.target}${extra ? ' ' + extra : ''}${ruleSuffix(d, '', show)}`;
    }
    case 'ask':
      return `ask: choose from ${d.targets.join(', ')}` + (d.defaultTarget ? ` (default ${d.defaultTarget})` : '') + ruleSuffix(d, '', show);
    case 'deny': {
      const reason = reasonText(d, show);
      return `deny: ${reason}${ruleSuffix(d, reason, show)}`;
    }
  }
}

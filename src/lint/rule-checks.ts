/**
 * Checks of one rule on its own: dangerous allows (SPEC §9), `$` tokens in
 * `policy.d` rules, `user=` values that cannot reach qrexec-daemon, and,
 * with system info, names, tags and types that do not exist and
 * `@dispvm:X` for an X that is not a disposable template.
 */
import { tokenParams } from '../parser/params.js';
import type { Rule } from '../parser/rule.js';
import type { Token } from '../parser/tokens.js';
import type { SystemInfo } from '../policy/system-info.js';
import { unsendable } from '../policy/block-lines.js';
import type { RuleColumns } from './locate.js';
import type { CheckId } from './rules.js';

export interface Finding {
  rule: CheckId;
  message: string;
  column: number;
}

/** The qube types Qubes knows (SPEC §3.1). */
export const QUBE_TYPES: ReadonlySet<string> = new Set(['AppVM', 'TemplateVM', 'StandaloneVM', 'DispVM', 'AdminVM', 'RemoteVM']);

/** SPEC §9: any service allowed from @anyvm or * to dom0, or to @anyvm or *. */
export function dangerousAllow(rule: Rule, cols: RuleColumns): Finding | null {
  if (rule.action !== 'allow' || rule.service !== null) return null;
  if (rule.source.kind !== 'anyvm' && rule.source.kind !== 'any') return null;
  const to = rule.redirect ?? rule.target;
  const where =
    to.kind === 'adminvm' ? 'in dom0' : to.kind === 'anyvm' || to.kind === 'any' ? `in every qube (${to.text})` : null;
  if (where === null) return null;
  return {
    rule: 'dangerous-allow',
    message: `every qube (${rule.source.text}) may call any service ${where} without being asked`,
    column: cols.start,
  };
}

/**
 * A `user=` that qrexec-daemon could not be sent (not printable ASCII, or
 * too long for its 4,096-byte answer): every call the rule would allow or
 * the user would confirm is denied instead.
 */
export function unsendableUser(rule: Rule, cols: RuleColumns): Finding | null {
  if (rule.action === 'deny' || rule.user === null) return null;
  const problem = unsendable([`user=${rule.user}`]);
  if (problem === null) return null;
  const shown = rule.user.length > 40 ? `${rule.user.slice(0, 40)}…` : rule.user;
  return {
    rule: 'unsendable-user',
    message: `user=${shown} cannot be passed to qrexec-daemon (${problem}): every call this rule ${rule.action === 'ask' ? 'offers' : 'allows'} is denied`,
    column: cols.params.get('user')!,
  };
}

/** The tokens of a rule with their columns: SOURCE, TARGET and the token-valued parameters. */
function tokens(rule: Rule, cols: RuleColumns): Array<[Token, number]> {
  const out: Array<[Token, number]> = [
    [rule.source, cols.source],
    [rule.target, cols.target],
  ];
  // a rule with a token-valued parameter (target=, default_target=) has it on its line
  for (const [tok, key] of tokenParams(rule)) out.push([tok, cols.params.get(key)!]);
  return out;
}

/** `$anyvm` in a policy.d rule: only service files translate `$` to `@`. */
export function dollarTokens(rule: Rule, cols: RuleColumns): Finding[] {
  if (rule.format !== 'policy') return [];
  return tokens(rule, cols)
    .filter(([t]) => t.text.includes('$'))
    .map(([t, column]) => ({
      rule: 'dollar-token' as const,
      message: `${t.text} is a literal qube name in a policy.d file and matches nothing (write ${t.text.replaceAll('$', '@')})`,
      column,
    }));
}

function typeUnknown(type: string, si: SystemInfo | null): boolean {
  return !QUBE_TYPES.has(type) && (si === null || si.ofType(type).length === 0);
}

function tagUnknown(tag: string, si: SystemInfo): boolean {
  return si.withTag(tag).length === 0;
}

/** Names, uuids, tags, types and disposable templates the system does not have (types also without system info). */
export function unknownNames(rule: Rule, cols: RuleColumns, si: SystemInfo | null): Finding[] {
  const out: Finding[] = [];
  for (const [t, column] of tokens(rule, cols)) {
    if (t.kind === 'type' && typeUnknown(t.type, si))
      out.push({ rule: 'unknown-type', message: `no qube type ${t.type} (Qubes types: ${[...QUBE_TYPES].join(', ')})`, column });
    if (si === null || t.text.includes('$')) continue;
    if (t.kind === 'qube' && si.lookup(t.text) === undefined)
      out.push({ rule: 'unknown-qube', message: `no qube ${t.text} in the system info`, column });
    if ((t.kind === 'tag' || t.kind === 'dispvm-tag') && tagUnknown(t.tag, si))
      out.push({ rule: 'unknown-tag', message: `no qube carries the tag ${t.tag}`, column });
    if (t.kind === 'dispvm-template') {
      const name = t.text.slice('@dispvm:'.length);
      const q = si.lookup(name);
      if (q === undefined) out.push({ rule: 'unknown-qube', message: `no qube ${name} in the system info`, column });
      else if (!q.templateForDispvms)
        out.push({
          rule: 'dispvm-not-template',
          message: `${t.text}: ${q.name} is not a disposable template (template_for_dispvms is false)`,
          column,
        });
    }
  }
  return out;
}

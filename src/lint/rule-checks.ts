/**
 * Checks of one rule on its own: dangerous allows (SPEC §9), `$` tokens in
 * `policy.d` rules, `user=` values that cannot reach qrexec-daemon, types
 * Qubes does not have, and, with system info, names and tags that do not
 * exist and `@dispvm:X` for an X that is not a disposable template.
 */
import { tokenParams } from '../parser/params.js';
import type { Rule } from '../parser/rule.js';
import type { Token } from '../parser/tokens.js';
import type { SystemInfo } from '../policy/system-info.js';
import { unsendable } from '../policy/block-lines.js';
import type { RuleFinding } from './finding.js';
import type { RuleColumns } from './locate.js';

/** The qube types Qubes knows (SPEC §3.1). */
export const QUBE_TYPES: ReadonlySet<string> = new Set(['AppVM', 'TemplateVM', 'StandaloneVM', 'DispVM', 'AdminVM', 'RemoteVM']);

/** SPEC §9: any service allowed from @anyvm or * to dom0, or to @anyvm or *. */
export function dangerousAllow(rule: Rule, cols: RuleColumns): RuleFinding[] {
  if (rule.action !== 'allow' || rule.service !== null) return [];
  if (rule.source.kind !== 'anyvm' && rule.source.kind !== 'any') return [];
  const to = rule.redirect ?? rule.target;
  const where =
    to.kind === 'adminvm' ? 'in dom0' : to.kind === 'anyvm' || to.kind === 'any' ? `in every qube (${to.text})` : null;
  if (where === null) return [];
  return [{ message: `every qube (${rule.source.text}) may call any service ${where} without being asked`, column: cols.start }];
}

/**
 * A `user=` that qrexec-daemon could not be sent (not printable ASCII, or
 * too long for its 4,096-byte answer): every call the rule would allow or
 * the user would confirm is denied instead.
 */
export function unsendableUser(rule: Rule, cols: RuleColumns): RuleFinding[] {
  if (rule.action === 'deny' || rule.user === null) return [];
  const problem = unsendable([`user=${rule.user}`]);
  if (problem === null) return [];
  const shown = rule.user.length > 40 ? `${rule.user.slice(0, 40)}…` : rule.user;
  return [
    {
      message: `user=${shown} cannot be passed to qrexec-daemon (${problem}): every call this rule ${rule.action === 'ask' ? 'offers' : 'allows'} is denied`,
      column: cols.params.get('user')!,
    },
  ];
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
export function dollarTokens(rule: Rule, cols: RuleColumns): RuleFinding[] {
  if (rule.format !== 'policy') return [];
  return tokens(rule, cols)
    .filter(([t]) => t.text.includes('$'))
    .map(([t, column]) => ({
      message: `${t.text} is a literal qube name in a policy.d file and matches nothing (write ${t.text.replaceAll('$', '@')})`,
      column,
    }));
}

/** `@type:X` for a type Qubes does not have and (with system info) no qube has. */
export function unknownTypes(rule: Rule, cols: RuleColumns, si: SystemInfo | null): RuleFinding[] {
  const out: RuleFinding[] = [];
  for (const [t, column] of tokens(rule, cols))
    if (t.kind === 'type' && !QUBE_TYPES.has(t.type) && (si === null || si.ofType(t.type).length === 0))
      out.push({ message: `no qube type ${t.type} (Qubes types: ${[...QUBE_TYPES].join(', ')})`, column });
  return out;
}

/** The tokens worth looking up in the system info (a `$` token is reported as such). */
function lookedUp(rule: Rule, cols: RuleColumns): Array<[Token, number]> {
  return tokens(rule, cols).filter(([t]) => !t.text.includes('$'));
}

/** Qube names and uuids (also `@dispvm:X`'s X) the system info does not know. */
export function unknownQubes(rule: Rule, cols: RuleColumns, si: SystemInfo): RuleFinding[] {
  const out: RuleFinding[] = [];
  for (const [t, column] of lookedUp(rule, cols)) {
    const name = t.kind === 'qube' ? t.text : t.kind === 'dispvm-template' ? t.text.slice('@dispvm:'.length) : null;
    if (name !== null && si.lookup(name) === undefined) out.push({ message: `no qube ${name} in the system info`, column });
  }
  return out;
}

/** Tags no qube carries. */
export function unknownTags(rule: Rule, cols: RuleColumns, si: SystemInfo): RuleFinding[] {
  const out: RuleFinding[] = [];
  for (const [t, column] of lookedUp(rule, cols))
    if ((t.kind === 'tag' || t.kind === 'dispvm-tag') && si.withTag(t.tag).length === 0) out.push({ message: `no qube carries the tag ${t.tag}`, column });
  return out;
}

/** `@dispvm:X` where X is a qube but not a disposable template. */
export function dispvmNotTemplate(rule: Rule, cols: RuleColumns, si: SystemInfo): RuleFinding[] {
  const out: RuleFinding[] = [];
  for (const [t, column] of lookedUp(rule, cols)) {
    if (t.kind !== 'dispvm-template') continue;
    const q = si.lookup(t.text.slice('@dispvm:'.length));
    if (q !== undefined && !q.templateForDispvms)
      out.push({ message: `${t.text}: ${q.name} is not a disposable template (template_for_dispvms is false)`, column });
  }
  return out;
}

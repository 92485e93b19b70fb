/**
 * The action parameters (`allow target=vault user=root`): one row each.
 * The rule builder (rule.ts), the quick check (quick-check.ts), lint's
 * token and equality checks, fmt's and convert's read-back checks and
 * diff all read this table, so a new parameter is one row here plus what
 * it means: its ParamValues field (the compiler then asks for it where
 * rule.ts builds a Rule) and the evaluator's use of it.
 */
import type { Action } from './rule.js';
import type { Token } from './tokens.js';

/** How a value is read: a target token (`target=@dispvm`), `yes`/`no`, or text taken as it is. */
export type ParamKind = 'token' | 'boolean' | 'text';

/** The parsed values, one field per parameter (part of every Rule). */
export interface ParamValues {
  /** `target=`: where allow sends the call instead of the requested target; the one target an ask offers. */
  readonly redirect: Token | null;
  /** `default_target=` of an ask rule. */
  readonly defaultTarget: Token | null;
  readonly user: string | null;
  readonly notify: boolean;
  readonly autostart: boolean;
}

export interface ActionParam {
  /** As written before `=`. */
  readonly key: string;
  /** Where the value goes in a Rule. */
  readonly field: keyof ParamValues;
  /** The actions that take it; any other is the reference's "invalid parameters for action". */
  readonly actions: readonly Action[];
  readonly kind: ParamKind;
  /** The value of a rule that does not give it (`notify` depends on the action). */
  readonly default: boolean | null | ((action: Action | null) => boolean);
}

/**
 * The parameters, in the order the reference checks their values: booleans
 * (notify, then autostart) before tokens (target, then default_target).
 */
export const ACTION_PARAMS: readonly ActionParam[] = [
  { key: 'target', field: 'redirect', actions: ['allow', 'ask'], kind: 'token', default: null },
  { key: 'default_target', field: 'defaultTarget', actions: ['ask'], kind: 'token', default: null },
  { key: 'user', field: 'user', actions: ['allow', 'ask'], kind: 'text', default: null },
  { key: 'notify', field: 'notify', actions: ['allow', 'deny', 'ask'], kind: 'boolean', default: (action) => action === 'deny' },
  { key: 'autostart', field: 'autostart', actions: ['allow', 'ask'], kind: 'boolean', default: true },
];

const BY_KEY: ReadonlyMap<string, number> = new Map(ACTION_PARAMS.map((p, i) => [p.key, i]));

/** The place of `key` in ACTION_PARAMS, or undefined for a key no action takes. */
export function paramIndex(key: string): number | undefined {
  return BY_KEY.get(key);
}

/** The parameters an action may take; anything else is the reference's TypeError. */
export function paramAllowed(action: Action, key: string): boolean {
  const i = BY_KEY.get(key);
  return i !== undefined && ACTION_PARAMS[i]!.actions.includes(action);
}

/** A parameter's value when the rule does not give it. */
export function defaultValue(p: ActionParam, action: Action | null): ParamValues[keyof ParamValues] {
  return typeof p.default === 'function' ? p.default(action) : p.default;
}

/** The values of a rule without parameters, per action (made once: most rules have none). */
const NO_PARAMS = new Map<Action | null, ParamValues>();

export function defaultValues(action: Action | null): ParamValues {
  let v = NO_PARAMS.get(action);
  if (v === undefined) {
    const out: Record<string, unknown> = {};
    for (const p of ACTION_PARAMS) out[p.field] = defaultValue(p, action);
    NO_PARAMS.set(action, (v = Object.freeze(out) as unknown as ParamValues));
  }
  return v;
}

/**
 * A rule's parameter values in table order, tokens as written (or through
 * `tokenText`): what tools compare to tell whether two rules act alike.
 */
export function paramValueList(r: ParamValues, tokenText: (t: Token) => string = (t) => t.text): unknown[] {
  return ACTION_PARAMS.map((p) => {
    const v = r[p.field];
    return p.kind === 'token' ? (v === null ? null : tokenText(v as Token)) : v;
  });
}

/** The token-valued parameters a rule gives, with their keys (`[vault token, 'target']`). */
export function tokenParams(r: ParamValues): Array<[Token, string]> {
  const out: Array<[Token, string]> = [];
  for (const p of ACTION_PARAMS) {
    const v = r[p.field];
    if (p.kind === 'token' && v !== null) out.push([v as Token, p.key]);
  }
  return out;
}

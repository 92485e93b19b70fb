/**
 * One policy rule, parsed from a `policy.d` line (SPEC §3) or a service-file
 * line (SPEC §4.3). Parsing never throws: it returns the rule, or every error
 * found on the line (the first one is the one the reference reports).
 */
import { expected } from '../errors.js';
import { PolicyError } from './errors.js';
import { CHARSET, type Field, invalidChars, pyRepr, splitFields } from './text.js';
import { cachedToken, TokenError, type Token, type TokenContext } from './tokens.js';
import { ACTION_PARAMS, defaultValues, paramAllowed, paramIndex, type ParamValues } from './params.js';

/** `target=`'s place in ACTION_PARAMS (allow to @default needs it). */
const REDIRECT = paramIndex('target')!;

export type Action = 'allow' | 'deny' | 'ask';

/** Where a rule came from: a `policy.d` line, a service-file line, or a compat implicit deny. */
export type RuleFormat = 'policy' | 'service' | 'implicit';

/** A rule: its columns, its action and the values of its parameters (params.ts), and where it was written. */
export interface Rule extends ParamValues {
  /** `null` stands for `*` (any service). */
  readonly service: string | null;
  /** `null` stands for `*` (any argument); otherwise starts with `+`. */
  readonly argument: string | null;
  readonly source: Token;
  readonly target: Token;
  readonly action: Action;
  /** The `key=value` words as written, for display (`allow target=vault`). */
  readonly params: readonly string[];
  readonly file: string;
  /** 1-based line, `null` for the implicit rules `!compat-4.0` appends. */
  readonly line: number | null;
  /** The line as written (trimmed); for implicit rules, the equivalent text. */
  readonly text: string;
  readonly format: RuleFormat;
}

export interface ParsedRule {
  rule: Rule | null;
  errors: PolicyError[];
}

/** Column of each field for diagnostics (lint, fmt); 1-based. */
interface Located {
  file: string;
  line: number | null;
}

const ACTION_CLASS: Record<Action, string> = { allow: 'Allow', deny: 'Deny', ask: 'Ask' };

/**
 * Validate a SERVICE and ARGUMENT pair as written in a rule or an
 * `!include-service` directive. Returns `null` for `*`.
 */
export function checkServiceArgument(
  service: Field,
  argument: Field,
  at: Located,
): { service: string | null; argument: string | null; errors: PolicyError[] } {
  const errors: PolicyError[] = [];
  const svc = service.text === '*' ? null : service.text;
  const arg = argument.text === '*' ? null : argument.text;
  if (svc !== null) {
    const bad = invalidChars(svc, CHARSET.serviceChar);
    if (bad.length)
      errors.push(
        new PolicyError(
          'service-chars',
          `service ${pyRepr(svc)} contains invalid characters: ${pyTuple(bad)}`,
          at.file,
          at.line,
          service.column,
        ),
      );
  }
  if (arg !== null) {
    const bad = invalidChars(arg, CHARSET.rpcnameChar);
    if (bad.length)
      errors.push(
        new PolicyError(
          'argument-chars',
          `argument ${pyRepr(arg)} contains invalid characters: ${pyTuple(bad)}`,
          at.file,
          at.line,
          argument.column,
        ),
      );
    else if (!arg.startsWith('+'))
      errors.push(
        new PolicyError('argument-plus', `argument ${pyRepr(arg)} does not start with +`, at.file, at.line, argument.column),
      );
    else if (svc === null)
      errors.push(
        new PolicyError(
          'wildcard-service-argument',
          'only * argument allowed for * service',
          at.file,
          at.line,
          argument.column,
        ),
      );
  }
  return { service: svc, argument: arg, errors };
}

function pyTuple(items: string[]): string {
  return items.length === 1 ? `(${pyRepr(items[0]!)},)` : `(${items.map(pyRepr).join(', ')})`;
}

function token(field: Field, context: TokenContext, at: Located, fail: (e: PolicyError) => void): Token | null {
  try {
    return cachedToken(field.text, context);
  } catch (err) {
    /* c8 ignore next -- only TokenError is expected here */
    expected(err, TokenError);
    const id = context === 'source' ? 'source-token' : context === 'target' ? 'target-token' : 'redirect-token';
    fail(new PolicyError(id, err.message, at.file, at.line, field.column));
    return null;
  }
}

interface RuleFields {
  service: Field;
  argument: Field;
  source: Field;
  target: Field;
  action: Field;
  params: Field[];
}

/** Shared by every rule without parameters (most of them). */
const NO_PARAMS: readonly string[] = Object.freeze([]);

/**
 * Build a rule from its fields. Written for the common case (a valid line,
 * few parameters): no per-line maps or temporary arrays, so that loading a
 * 10,000-rule policy stays fast even before the JIT has warmed up. Errors are
 * collected in the order the reference checks them.
 */
function buildRule(
  f: RuleFields,
  at: Located,
  text: string,
  format: RuleFormat,
  preChecked?: { service: string | null; argument: string | null },
): ParsedRule {
  let errors: PolicyError[] | null = null;
  const fail = (e: PolicyError) => void (errors ??= []).push(e);
  let service: string | null;
  let argument: string | null;
  if (preChecked) {
    ({ service, argument } = preChecked);
  } else {
    const sa = checkServiceArgument(f.service, f.argument, at);
    for (const e of sa.errors) fail(e);
    ({ service, argument } = sa);
  }
  const source = token(f.source, 'source', at, fail);
  const target = token(f.target, 'target', at, fail);

  const actionText = f.action.text;
  const action: Action | null =
    actionText === 'allow' || actionText === 'deny' || actionText === 'ask' ? actionText : null;
  if (action === null) fail(new PolicyError('action', `invalid action: ${actionText}`, at.file, at.line, f.action.column));

  // parameters: each known key's field by its place in ACTION_PARAMS; the first key the action does not take
  let given: Array<Field | undefined> | undefined;
  let invalidParam: Field | undefined;
  let seenOther: string[] | undefined;
  for (const p of f.params) {
    const eq = p.text.indexOf('=');
    if (eq < 0) {
      fail(new PolicyError('param-syntax', `invalid action parameter syntax: ${pyRepr(p.text)}`, at.file, at.line, p.column));
      continue;
    }
    const key = p.text.slice(0, eq);
    // the column is the parameter's (the key's), which is where diagnostics point
    const value: Field = { text: p.text.slice(eq + 1), column: p.column };
    const i = paramIndex(key);
    let repeated: boolean;
    if (i !== undefined) {
      given ??= new Array<Field | undefined>(ACTION_PARAMS.length);
      repeated = given[i] !== undefined;
      if (!repeated) given[i] = value;
    } else {
      repeated = (seenOther ??= []).includes(key);
      if (!repeated) seenOther.push(key);
    }
    if (repeated) {
      fail(new PolicyError('param-duplicate', `parameter given twice: ${pyRepr(key)}`, at.file, at.line, p.column));
      continue;
    }
    if (action !== null && invalidParam === undefined && !paramAllowed(action, key)) invalidParam = value;
  }

  let values = defaultValues(action);
  const v: Record<string, unknown> | undefined = given === undefined ? undefined : { ...values };
  // in the reference's order: the booleans (and text), then, if the action takes every key, the tokens
  if (given !== undefined && v !== undefined) {
    for (let i = 0; i < ACTION_PARAMS.length; i++) {
      const p = ACTION_PARAMS[i]!;
      const g = given[i];
      if (g === undefined) continue;
      if (p.kind === 'text') v[p.field] = g.text;
      else if (p.kind === 'boolean') {
        if (g.text === 'yes' || g.text === 'no') v[p.field] = g.text === 'yes';
        else fail(new PolicyError('param-boolean', `${pyRepr(p.key)} is ${pyRepr(g.text)}, but can be only 'yes' or 'no'`, at.file, at.line, g.column));
      }
    }
  }
  if (action !== null && invalidParam !== undefined) {
    fail(
      new PolicyError(
        'param-invalid',
        `invalid parameters for action ${ACTION_CLASS[action]}: [${f.params.map((p) => pyRepr(p.text)).join(', ')}]`,
        at.file,
        at.line,
        invalidParam.column,
      ),
    );
  } else if (action !== null && given !== undefined && v !== undefined) {
    for (let i = 0; i < ACTION_PARAMS.length; i++) {
      const p = ACTION_PARAMS[i]!;
      const g = given[i];
      if (g !== undefined && p.kind === 'token') v[p.field] = token(g, 'redirect', at, fail);
    }
  }
  if (v !== undefined) values = v as unknown as ParamValues;
  // allow to @default must say where: target= (the reference checks this last)
  if (action === 'allow' && target?.kind === 'default' && invalidParam === undefined && given?.[REDIRECT] === undefined) {
    fail(
      new PolicyError(
        'default-allow-target',
        'allow action for @default rule must specify target= option',
        at.file,
        at.line,
        f.target.column,
      ),
    );
  }

  if (errors !== null) return { rule: null, errors };
  // a token or action that failed to parse always recorded an error above
  return {
    rule: {
      service,
      argument,
      source: source!,
      target: target!,
      action: action!,
      // written out, not spread: one object shape, and measurably faster to build (10,000 rules)
      redirect: values.redirect,
      defaultTarget: values.defaultTarget,
      user: values.user,
      notify: values.notify,
      autostart: values.autostart,
      params: f.params.length === 0 ? NO_PARAMS : f.params.map((p) => p.text),
      file: at.file,
      line: at.line,
      text,
      format,
    },
    errors: NO_ERRORS,
  };
}

/** The (empty, never modified) error list of a good line. */
const NO_ERRORS: PolicyError[] = [];

/** Parse a trimmed `policy.d` rule line: `SERVICE ARGUMENT SOURCE TARGET ACTION [PARAMS]`. */
export function parsePolicyLine(text: string, at: Located, columnOffset = 0): ParsedRule {
  const fields = splitFields(text, columnOffset);
  if (fields.length < 5) {
    return {
      rule: null,
      errors: [new PolicyError('field-count', 'wrong number of fields', at.file, at.line, fields[0]?.column ?? columnOffset + 1)],
    };
  }
  // indexed reads, not destructuring: this runs for every line, mostly before the JIT warms up
  const f = fields as Field[];
  return buildRule({ service: f[0]!, argument: f[1]!, source: f[2]!, target: f[3]!, action: f[4]!, params: f.slice(5) }, at, text, 'policy');
}

/**
 * Translate a service-file line the way the reference does before parsing:
 * `$include:` → `!include `, `$` → `@`, `,` → ` ` (lengths are preserved, so
 * columns still point into the original line).
 */
export function normaliseServiceLine(text: string): string {
  return text.replaceAll('$include:', '!include ').replaceAll('$', '@').replaceAll(',', ' ');
}

/**
 * Parse an already normalised service-file line `SOURCE TARGET ACTION[ PARAMS]`
 * for a service and argument that the including directive validated.
 */
export function parseServiceLine(
  normalised: string,
  service: string | null,
  argument: string | null,
  at: Located,
  columnOffset = 0,
  format: RuleFormat = 'service',
  originalText = normalised,
): ParsedRule {
  const fields = splitFields(normalised, columnOffset);
  if (fields.length < 3) {
    return {
      rule: null,
      errors: [new PolicyError('field-count', 'wrong number of fields', at.file, at.line, fields[0]?.column ?? columnOffset + 1)],
    };
  }
  const f = fields as Field[];
  const none: Field = { text: '', column: 0 };
  return buildRule({ service: none, argument: none, source: f[0]!, target: f[1]!, action: f[2]!, params: f.slice(3) }, at, originalText, format, {
    service,
    argument,
  });
}

/** The two deny rules `!compat-4.0` appends after a specific-argument file. */
export function implicitCompatRules(service: string | null, argument: string | null, file: string): Rule[] {
  return ['@anyvm @anyvm deny', '@anyvm @adminvm deny'].map(
    (text) => parseServiceLine(text, service, argument, { file, line: null }, 0, 'implicit').rule!,
  );
}

/** `FILE:LINE`, or just `FILE` for the implicit compat rules. */
export function ruleWhere(rule: Rule): string {
  return rule.line === null ? rule.file : `${rule.file}:${rule.line}`;
}

/** The action with its parameters as written, e.g. `allow target=vault`. */
export function actionText(rule: Rule): string {
  return [rule.action, ...rule.params].join(' ');
}

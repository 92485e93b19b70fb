/**
 * One policy rule, parsed from a `policy.d` line (SPEC §3) or a service-file
 * line (SPEC §4.3). Parsing never throws: it returns the rule, or every error
 * found on the line (the first one is the one the reference reports).
 */
import { expected } from '../errors.js';
import { PolicyError } from './errors.js';
import { CHARSET, type Field, invalidChars, pyRepr, splitFields } from './text.js';
import { parseToken, TokenError, type Token, type TokenContext } from './tokens.js';

export type Action = 'allow' | 'deny' | 'ask';

/** Where a rule came from: a `policy.d` line, a service-file line, or a compat implicit deny. */
export type RuleFormat = 'policy' | 'service' | 'implicit';

export interface Rule {
  /** `null` stands for `*` (any service). */
  readonly service: string | null;
  /** `null` stands for `*` (any argument); otherwise starts with `+`. */
  readonly argument: string | null;
  readonly source: Token;
  readonly target: Token;
  readonly action: Action;
  /** `target=`: where allow/ask send the call instead of the requested target. */
  readonly redirect: Token | null;
  /** `default_target=` of an ask rule. */
  readonly defaultTarget: Token | null;
  readonly user: string | null;
  readonly autostart: boolean;
  readonly notify: boolean;
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

const ACTIONS: ReadonlySet<string> = new Set(['allow', 'deny', 'ask']);

const PARAMS_FOR: Record<Action, ReadonlySet<string>> = {
  allow: new Set(['target', 'user', 'autostart', 'notify']),
  ask: new Set(['target', 'default_target', 'user', 'autostart', 'notify']),
  deny: new Set(['notify']),
};

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

function token(field: Field, context: TokenContext, at: Located, errors: PolicyError[]): Token | null {
  try {
    return parseToken(field.text, context);
  } catch (err) {
    /* c8 ignore next -- only TokenError is expected here */
    expected(err, TokenError);
    const id = context === 'source' ? 'source-token' : context === 'target' ? 'target-token' : 'redirect-token';
    errors.push(new PolicyError(id, err.message, at.file, at.line, field.column));
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

function buildRule(
  f: RuleFields,
  at: Located,
  text: string,
  format: RuleFormat,
  preChecked?: { service: string | null; argument: string | null },
): ParsedRule {
  const errors: PolicyError[] = [];
  let service: string | null;
  let argument: string | null;
  if (preChecked) {
    ({ service, argument } = preChecked);
  } else {
    const sa = checkServiceArgument(f.service, f.argument, at);
    errors.push(...sa.errors);
    ({ service, argument } = sa);
  }
  const source = token(f.source, 'source', at, errors);
  const target = token(f.target, 'target', at, errors);

  const actionText = f.action.text;
  const action = ACTIONS.has(actionText) ? (actionText as Action) : null;
  if (action === null) {
    errors.push(new PolicyError('action', `invalid action: ${actionText}`, at.file, at.line, f.action.column));
  }

  const values = new Map<string, Field>();
  for (const p of f.params) {
    const eq = p.text.indexOf('=');
    if (eq < 0) {
      errors.push(
        new PolicyError('param-syntax', `invalid action parameter syntax: ${pyRepr(p.text)}`, at.file, at.line, p.column),
      );
      continue;
    }
    const key = p.text.slice(0, eq);
    if (values.has(key)) {
      errors.push(new PolicyError('param-duplicate', `parameter given twice: ${pyRepr(key)}`, at.file, at.line, p.column));
      continue;
    }
    // the column is the parameter's (the key's), which is where diagnostics point
    values.set(key, { text: p.text.slice(eq + 1), column: p.column });
  }

  const bools: Record<string, boolean | undefined> = {};
  for (const key of ['notify', 'autostart']) {
    const v = values.get(key);
    if (v === undefined) continue;
    if (v.text !== 'yes' && v.text !== 'no') {
      errors.push(
        new PolicyError(
          'param-boolean',
          `${pyRepr(key)} is ${pyRepr(v.text)}, but can be only 'yes' or 'no'`,
          at.file,
          at.line,
          v.column,
        ),
      );
    } else {
      bools[key] = v.text === 'yes';
    }
  }

  let redirect: Token | null = null;
  let defaultTarget: Token | null = null;
  if (action !== null) {
    const allowed = PARAMS_FOR[action];
    const invalid = [...values.keys()].filter((k) => !allowed.has(k));
    if (invalid.length) {
      const first = values.get(invalid[0]!)!;
      errors.push(
        new PolicyError(
          'param-invalid',
          `invalid parameters for action ${ACTION_CLASS[action]}: [${f.params.map((p) => pyRepr(p.text)).join(', ')}]`,
          at.file,
          at.line,
          first.column,
        ),
      );
    } else {
      const t = values.get('target');
      if (t !== undefined) redirect = token(t, 'redirect', at, errors);
      const d = values.get('default_target');
      if (d !== undefined) defaultTarget = token(d, 'redirect', at, errors);
      if (target?.kind === 'default' && action === 'allow' && t === undefined) {
        errors.push(
          new PolicyError(
            'default-allow-target',
            'allow action for @default rule must specify target= option',
            at.file,
            at.line,
            f.target.column,
          ),
        );
      }
    }
  }

  if (errors.length || source === null || target === null || action === null) return { rule: null, errors };
  return {
    rule: {
      service,
      argument,
      source,
      target,
      action,
      redirect,
      defaultTarget,
      user: values.get('user')?.text ?? null,
      autostart: bools['autostart'] ?? true,
      notify: bools['notify'] ?? action === 'deny',
      params: f.params.map((p) => p.text),
      file: at.file,
      line: at.line,
      text,
      format,
    },
    errors,
  };
}

/** Parse a trimmed `policy.d` rule line: `SERVICE ARGUMENT SOURCE TARGET ACTION [PARAMS]`. */
export function parsePolicyLine(text: string, at: Located, columnOffset = 0): ParsedRule {
  const fields = splitFields(text, columnOffset);
  if (fields.length < 5) {
    return {
      rule: null,
      errors: [new PolicyError('field-count', 'wrong number of fields', at.file, at.line, fields[0]?.column ?? columnOffset + 1)],
    };
  }
  const [service, argument, source, target, action, ...params] = fields as [Field, Field, Field, Field, Field, ...Field[]];
  return buildRule({ service, argument, source, target, action, params }, at, text, 'policy');
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
  const [source, target, action, ...params] = fields as [Field, Field, Field, ...Field[]];
  const none: Field = { text: '', column: 0 };
  return buildRule({ service: none, argument: none, source, target, action, params }, at, originalText, format, {
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

/**
 * The `target=` that redirects a call. An empty `target=` counts as no
 * redirect, as in Qubes (where an empty string is false); ask still offers it.
 */
export function effectiveRedirect(rule: Rule): Token | null {
  return rule.redirect !== null && rule.redirect.text !== '' ? rule.redirect : null;
}

/** `FILE:LINE`, or just `FILE` for the implicit compat rules. */
export function ruleWhere(rule: Rule): string {
  return rule.line === null ? rule.file : `${rule.file}:${rule.line}`;
}

/** The action with its parameters as written, e.g. `allow target=vault`. */
export function actionText(rule: Rule): string {
  return [rule.action, ...rule.params].join(' ');
}

/**
 * The lint rule catalogue: every rule id `qrexec-policy lint` can report,
 * its default severity and a one-line description (docs, SARIF, --list-rules).
 * Syntax and load errors reuse the parser's stable ids.
 */
import type { SyntaxErrorId } from '../parser/errors.js';

export type Severity = 'error' | 'warning' | 'note';

/** Ids of the checks lint adds on top of the parser's. */
export type CheckId =
  | 'shadowed'
  | 'duplicate'
  | 'redundant'
  | 'unmatchable-source'
  | 'ask-default-target'
  | 'dangerous-allow'
  | 'dollar-token'
  | 'unsendable-user'
  | 'include-outside'
  | 'file-ignored'
  | 'unknown-qube'
  | 'unknown-tag'
  | 'unknown-type'
  | 'dispvm-not-template'
  | 'compat-not-checked'
  | 'lint-ignore';

export type RuleId = SyntaxErrorId | CheckId;

export interface RuleInfo {
  severity: Severity;
  description: string;
}

const SYNTAX: Record<SyntaxErrorId, string> = {
  'field-count': 'a rule line has the wrong number of fields',
  'service-chars': 'the service name has characters outside A-Z a-z 0-9 - . _',
  'argument-chars': 'the argument has characters outside A-Z a-z 0-9 - . _ +',
  'argument-plus': 'the argument is neither * nor starts with +',
  'wildcard-service-argument': 'a * service with an argument other than *',
  'source-token': 'the SOURCE column is not a valid source token',
  'target-token': 'the TARGET column is not a valid target token',
  'redirect-token': 'target= or default_target= is not a valid redirect token',
  action: 'the action is not allow, deny or ask',
  'param-syntax': 'an action parameter without =',
  'param-duplicate': 'an action parameter given twice',
  'param-boolean': 'notify= or autostart= is not yes or no',
  'param-invalid': 'a parameter the action does not take',
  'default-allow-target': 'allow to @default without target=',
  directive: 'an unknown !directive',
  'directive-params': 'a directive with the wrong number of parameters',
  'compat-recursive': '!compat-4.0 inside the files !compat-4.0 loads',
  'include-missing': 'an include names a file that does not exist',
  'include-not-dir': '!include-dir names something that is not a directory',
  'include-cycle': 'files include each other in a cycle',
  'include-depth': 'includes nested deeper than 32 levels',
  'file-name': 'a .policy file name with characters outside 0-9 a-z _ . - (denies everything)',
  'file-encoding': 'a policy file that is not valid UTF-8',
  'file-read': 'a policy file that cannot be read',
  'file-too-large': 'a policy file larger than the size limit (16 MiB)',
  'too-many-files': 'more policy files than the limit (10,000) in one policy',
  'line-too-long': 'a policy line longer than the limit (64 KiB)',
  'policy-dir': 'a policy directory that cannot be read',
  'legacy-dir': 'the R4.0 directory !compat-4.0 reads cannot be read',
  'legacy-not-found': 'no R4.0 policy file for the service (--legacy evaluation only)',
};

const CHECKS: Record<CheckId, RuleInfo> = {
  shadowed: { severity: 'warning', description: 'earlier rules match every request this rule matches: it can never decide' },
  duplicate: {
    severity: 'warning',
    description: 'the rule repeats an earlier rule, or a file is included twice for the same service: the copy can never decide',
  },
  redundant: {
    severity: 'warning',
    description:
      'a later rule for the same service with the same effect decides the same requests the same way: removing this rule changes no decision',
  },
  'unmatchable-source': {
    severity: 'warning',
    description: 'a @dispvm:... SOURCE never matches a caller (a running disposable calls under its own name)',
  },
  'ask-default-target': { severity: 'warning', description: 'ask default_target= that can never be among the offered targets' },
  'dangerous-allow': {
    severity: 'warning',
    description: 'any service allowed from @anyvm or * to dom0, to @anyvm or to * (SPEC §9)',
  },
  'dollar-token': { severity: 'warning', description: 'a $ token in a policy.d rule is a literal qube name that matches nothing (write @)' },
  'unsendable-user': {
    severity: 'warning',
    description: 'an allow or ask whose user= is not printable ASCII or too long to send to qrexec-daemon: its calls are denied',
  },
  'include-outside': { severity: 'warning', description: 'an include reaches a file or directory outside the policy directory' },
  'file-ignored': { severity: 'warning', description: 'a file that looks like policy but will be ignored (name, suffix, dotfile, not a file)' },
  'unknown-qube': { severity: 'warning', description: 'a qube name or uuid that --system-info does not know' },
  'unknown-tag': { severity: 'warning', description: 'a tag that no qube in --system-info carries' },
  'unknown-type': { severity: 'warning', description: 'a qube type that is not a Qubes type and that no qube in --system-info has' },
  'dispvm-not-template': {
    severity: 'warning',
    description: '@dispvm:X where X (per --system-info) is not a disposable template',
  },
  'compat-not-checked': {
    severity: 'note',
    description: '!compat-4.0 was not followed: the default R4.0 directory does not exist here (give --legacy-path)',
  },
  'lint-ignore': {
    severity: 'warning',
    description: 'a # lint: ignore comment that is malformed, names an unknown or error rule, or silences nothing',
  },
};

export const RULES: Readonly<Record<RuleId, RuleInfo>> = {
  ...Object.fromEntries(Object.entries(SYNTAX).map(([id, description]) => [id, { severity: 'error', description }])),
  ...CHECKS,
} as Record<RuleId, RuleInfo>;

/** Every rule id, syntax errors first, in catalogue order. */
export const RULE_IDS: readonly RuleId[] = Object.keys(RULES) as RuleId[];

export function isRuleId(s: string): s is RuleId {
  return Object.hasOwn(RULES, s);
}

/** One finding: where, how bad, what, and which rule. Line/column are 1-based; null when they do not apply. */
export interface Diagnostic {
  rule: RuleId;
  severity: Severity;
  message: string;
  file: string;
  line: number | null;
  column: number | null;
}

export function diagnostic(rule: RuleId, message: string, file: string, line: number | null, column: number | null): Diagnostic {
  return { rule, severity: RULES[rule].severity, message, file, line, column };
}

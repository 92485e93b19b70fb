/**
 * What a lint check reports: a finding (which rule, what, where), and the
 * diagnostic it becomes with its rule's severity (rules.ts). The checks
 * import only this module, so the rule registry can import them all.
 */
import type { SyntaxErrorId } from '../parser/errors.js';

export type Severity = 'error' | 'warning' | 'note';

/** Ids of the checks lint adds to the parser's. */
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

/** One finding: where (line and column 1-based; null when they do not apply), what, and which rule. */
export interface Finding {
  rule: RuleId;
  message: string;
  file: string;
  line: number | null;
  column: number | null;
}

/** A finding with its rule's severity: what lint prints. */
export interface Diagnostic {
  rule: RuleId;
  severity: Severity;
  message: string;
  file: string;
  line: number | null;
  column: number | null;
}

export function finding(rule: RuleId, message: string, file: string, line: number | null, column: number | null): Finding {
  return { rule, message, file, line, column };
}

/** A per-rule check's finding: what, and at which column of the rule's line. */
export interface RuleFinding {
  message: string;
  column: number;
}

/**
 * Diagnostics raised while reading policy. Every one names a file and, where
 * it comes from a line, the 1-based line and column of the offending token.
 * `id` is a stable identifier (lint prints it; tests match on it).
 */
export type SyntaxErrorId =
  | 'field-count'
  | 'service-chars'
  | 'argument-chars'
  | 'argument-plus'
  | 'wildcard-service-argument'
  | 'source-token'
  | 'target-token'
  | 'redirect-token'
  | 'action'
  | 'param-syntax'
  | 'param-duplicate'
  | 'param-boolean'
  | 'param-invalid'
  | 'default-allow-target'
  | 'directive'
  | 'directive-params'
  | 'compat-recursive'
  | 'include-missing'
  | 'include-not-dir'
  | 'include-cycle'
  | 'include-depth'
  | 'file-name'
  | 'file-encoding'
  | 'file-read'
  | 'file-too-large'
  | 'too-many-files'
  | 'line-too-long'
  | 'policy-dir'
  | 'legacy-dir'
  | 'legacy-not-found';

export class PolicyError extends Error {
  constructor(
    readonly id: SyntaxErrorId,
    message: string,
    readonly file: string | null,
    readonly line: number | null,
    readonly column: number | null = null,
  ) {
    super(message);
    this.name = 'PolicyError';
  }

  /** `FILE:LINE: MESSAGE` as the reference prints it (column left out). */
  get location(): string {
    if (this.file === null) return '';
    return this.line === null ? this.file : `${this.file}:${this.line}`;
  }

  /** One line for people: `FILE:LINE: message`, or just the message. */
  describe(): string {
    const where = this.location;
    return where ? `${where}: ${this.message}` : this.message;
  }
}

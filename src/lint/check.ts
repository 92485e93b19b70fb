/** What a lint check is given: one rule with its context, or one tree. */
import type { FileSource } from '../parser/file-source.js';
import type { Rule } from '../parser/rule.js';
import type { SystemInfo } from '../policy/system-info.js';
import type { Finding, RuleFinding } from './finding.js';
import type { RuleColumns, Sources } from './locate.js';
import type { Reach } from './shadow.js';
import type { LintTree } from './tree.js';

export interface RuleContext {
  /** The columns of the rule's fields and parameters. */
  cols: RuleColumns;
  /** Every rule of the tree, in order. */
  rules: readonly Rule[];
  /** `rules` is the whole policy (no load errors, no unknown R4.0 rules). */
  whole: boolean;
  /** --system-info; never null for a check that needs it. */
  si: SystemInfo | null;
}

export interface TreeContext {
  tree: LintTree;
  fs: FileSource;
  sources: Sources;
  legacyPath: string;
  /** Reachability of every rule (shadow.ts), worked out once per tree for the checks that read it. */
  reach(): ReadonlyMap<number, Reach>;
}

/** How a rule's findings are made. */
export type Check =
  /** Each rule read from a file, on its own. */
  | { per: 'rule'; run: (rule: Rule, c: RuleContext) => RuleFinding[] }
  /** Once per tree. */
  | { per: 'tree'; run: (c: TreeContext) => Finding[] }
  /** By the loader (syntax and load errors). */
  | { per: 'loader' }
  /** From the `# lint: ignore` comments themselves (ignore.ts). */
  | { per: 'ignore-comments' };

/**
 * The lint rule registry: every rule id `qrexec-policy lint` can report,
 * with its severity, what its check needs (the files of one tree, the
 * whole policy, --system-info), a one-line description, and the check.
 * lint.ts runs the checks from here; --list-rules and SARIF's rule list
 * read it. A new check is one entry here (and its function).
 */
import type { SyntaxErrorId } from '../parser/errors.js';
import { defaultNeverOffered } from './ask-default.js';
import type { Check } from './check.js';
import { finding, type CheckId, type Diagnostic, type RuleId, type Severity } from './finding.js';
import { ignoredFiles, includesOutside, repeatedIncludes } from './files.js';
import {
  dangerousAllow,
  dispvmNotTemplate,
  dollarTokens,
  unknownQubes,
  unknownTags,
  unknownTypes,
  unsendableUser,
} from './rule-checks.js';
import { reachFindings } from './shadow.js';

export type { CheckId, Diagnostic, RuleId, Severity } from './finding.js';

export interface LintRule {
  id: RuleId;
  severity: Severity;
  /**
   * What the check needs: `file`, the files of one tree; `whole-policy`,
   * every rule of the policy (while a tree has errors or unknown R4.0
   * rules it runs in part, and `# lint: ignore` of it is not judged);
   * `system-info`, --system-info (without it the check does not run).
   */
  needs: 'file' | 'whole-policy' | 'system-info';
  description: string;
  check: Check;
}

const LOADER: Check = { per: 'loader' };

/** Syntax and load errors: found by the loader, with the parser's stable ids. */
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

/** The checks lint adds, in catalogue order. */
const CHECKS: ReadonlyArray<Omit<LintRule, 'id'> & { id: CheckId }> = [
  {
    id: 'shadowed',
    severity: 'warning',
    needs: 'file',
    description: 'earlier rules match every request this rule matches: it can never decide',
    check: { per: 'tree', run: (c) => reachFindings(c.tree.rules, c.reach(), ['shadowed'], c.sources, 'shadowed') },
  },
  {
    id: 'duplicate',
    severity: 'warning',
    needs: 'file',
    description: 'the rule repeats an earlier rule, or a file is included twice for the same service: the copy can never decide',
    check: {
      per: 'tree',
      run: (c) => {
        const repeated = repeatedIncludes(c.tree, c.fs, c.sources);
        const out = [...repeated.diags, ...reachFindings(c.tree.rules, c.reach(), ['duplicate'], c.sources, 'duplicate')];
        // a file loaded twice: once per file, unless a repeated !include-service already says so
        const said = new Set(repeated.files);
        for (const f of reachFindings(c.tree.rules, c.reach(), ['reloaded'], c.sources, 'duplicate')) {
          const file = c.fs.resolve(f.file);
          if (said.has(file)) continue;
          said.add(file);
          out.push(f);
        }
        return out;
      },
    },
  },
  {
    id: 'redundant',
    severity: 'warning',
    needs: 'whole-policy',
    description:
      'a later rule for the same service with the same effect decides the same requests the same way: removing this rule changes no decision',
    check: { per: 'tree', run: (c) => reachFindings(c.tree.rules, c.reach(), ['redundant'], c.sources, 'redundant') },
  },
  {
    id: 'unmatchable-source',
    severity: 'warning',
    needs: 'file',
    description: 'a @dispvm:... SOURCE never matches a caller (a running disposable calls under its own name)',
    check: { per: 'tree', run: (c) => reachFindings(c.tree.rules, c.reach(), ['unmatchable-source'], c.sources, 'unmatchable-source') },
  },
  {
    id: 'ask-default-target',
    severity: 'warning',
    needs: 'whole-policy',
    description: 'ask default_target= that can never be among the offered targets',
    check: {
      per: 'rule',
      run: (rule, c) => {
        const why = defaultNeverOffered(rule, c.rules, c.whole);
        if (why === null) return [];
        return [{ message: `default_target=${rule.defaultTarget!.text} can never be offered: ${why}`, column: c.cols.params.get('default_target')! }];
      },
    },
  },
  {
    id: 'dangerous-allow',
    severity: 'warning',
    needs: 'file',
    description: 'any service allowed from @anyvm or * to dom0, to @anyvm or to * (SPEC §9)',
    check: { per: 'rule', run: (rule, c) => dangerousAllow(rule, c.cols) },
  },
  {
    id: 'dollar-token',
    severity: 'warning',
    needs: 'file',
    description: 'a $ token in a policy.d rule is a literal qube name that matches nothing (write @)',
    check: { per: 'rule', run: (rule, c) => dollarTokens(rule, c.cols) },
  },
  {
    id: 'unsendable-user',
    severity: 'warning',
    needs: 'file',
    description: 'an allow or ask whose user= is not printable ASCII or too long to send to qrexec-daemon: its calls are denied',
    check: { per: 'rule', run: (rule, c) => unsendableUser(rule, c.cols) },
  },
  {
    id: 'include-outside',
    severity: 'warning',
    needs: 'file',
    description: 'an include reaches a file or directory outside the policy directory',
    check: { per: 'tree', run: (c) => includesOutside(c.tree, c.fs, c.sources) },
  },
  {
    id: 'file-ignored',
    severity: 'warning',
    needs: 'file',
    description: 'a file that looks like policy but will be ignored (name, suffix, dotfile, not a file)',
    check: { per: 'tree', run: (c) => ignoredFiles(c.tree, c.fs, c.legacyPath) },
  },
  {
    id: 'unknown-qube',
    severity: 'warning',
    needs: 'system-info',
    description: 'a qube name or uuid that --system-info does not know',
    check: { per: 'rule', run: (rule, c) => unknownQubes(rule, c.cols, c.si!) },
  },
  {
    id: 'unknown-tag',
    severity: 'warning',
    needs: 'system-info',
    description: 'a tag that no qube in --system-info carries',
    check: { per: 'rule', run: (rule, c) => unknownTags(rule, c.cols, c.si!) },
  },
  {
    id: 'unknown-type',
    severity: 'warning',
    needs: 'file',
    description: 'a qube type that is not a Qubes type and that no qube in --system-info has',
    check: { per: 'rule', run: (rule, c) => unknownTypes(rule, c.cols, c.si) },
  },
  {
    id: 'dispvm-not-template',
    severity: 'warning',
    needs: 'system-info',
    description: '@dispvm:X where X (per --system-info) is not a disposable template',
    check: { per: 'rule', run: (rule, c) => dispvmNotTemplate(rule, c.cols, c.si!) },
  },
  {
    id: 'compat-not-checked',
    severity: 'note',
    needs: 'file',
    description: '!compat-4.0 was not followed: the default R4.0 directory does not exist here (give --legacy-path)',
    check: {
      per: 'tree',
      run: (c) =>
        c.tree.unchecked.map((e) =>
          finding(
            'compat-not-checked',
            `!compat-4.0 not followed: ${c.legacyPath} does not exist here; give --legacy-path to check the R4.0 files`,
            e.file!,
            e.line,
            e.column,
          ),
        ),
    },
  },
  {
    id: 'lint-ignore',
    severity: 'warning',
    needs: 'file',
    description: 'a # lint: ignore comment that is malformed, names an unknown or error rule, or silences nothing',
    check: { per: 'ignore-comments' },
  },
];

/** Every rule, syntax errors first, in catalogue order. */
export const LINT_RULES: readonly LintRule[] = [
  ...Object.entries(SYNTAX).map(([id, description]): LintRule => ({ id: id as SyntaxErrorId, severity: 'error', needs: 'file', description, check: LOADER })),
  ...CHECKS,
];

export const RULES: ReadonlyMap<RuleId, LintRule> = new Map(LINT_RULES.map((r) => [r.id, r]));

/** Every rule id, in catalogue order. */
export const RULE_IDS: readonly RuleId[] = LINT_RULES.map((r) => r.id);

export function isRuleId(s: string): s is RuleId {
  return RULES.has(s as RuleId);
}

/** A finding as lint prints it: with its rule's severity. */
export function diagnostic(rule: RuleId, message: string, file: string, line: number | null, column: number | null): Diagnostic {
  return { rule, severity: RULES.get(rule)!.severity, message, file, line, column };
}

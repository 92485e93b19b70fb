/**
 * The converter's own proof: the written file, read back by the real
 * loader, must give the very rules `!compat-4.0` gave, in the same order.
 * evaluate() reads nothing of a rule but what is compared here (where a
 * rule is written only names it in messages), so equal rule lists decide
 * every request alike.
 */
import * as path from 'node:path';
import { memoryFileSource } from '../parser/file-source.js';
import { PolicyLoader } from '../parser/loader.js';
import { paramValueList } from '../parser/params.js';
import { ruleWhere, type Rule } from '../parser/rule.js';

/** Everything of a rule that evaluation depends on. */
export function ruleMeaning(r: Rule): string {
  return JSON.stringify([
    r.service,
    r.argument,
    r.source.text,
    r.target.text,
    r.action,
    ...paramValueList(r),
    r.params,
  ]);
}

/** Problems found reading `text` back (empty when it holds exactly `expected`). */
export function verifyConverted(text: string, name: string, expected: readonly Rule[]): string[] {
  const file = path.posix.join('/converted', name);
  const loader = new PolicyLoader({ fs: memoryFileSource({ [file]: text }), legacyPath: '/converted/legacy' });
  loader.loadDirs(['/converted']);
  const { rules, errors } = loader.result;
  const problems = errors.map((e) => `the converted file does not load: ${e.describe()}`);
  const n = Math.max(rules.length, expected.length);
  for (let i = 0; i < n && problems.length === 0; i++) {
    const want = expected[i];
    const got = rules[i];
    if (want === undefined) problems.push(`the converted file has an extra rule at line ${got!.line}`);
    else if (got === undefined) problems.push(`the rule of ${ruleWhere(want)} is missing from the converted file`);
    else if (ruleMeaning(got) !== ruleMeaning(want))
      problems.push(`the rule of ${ruleWhere(want)} reads back differently at line ${got.line}: ${got.text}`);
  }
  return problems;
}

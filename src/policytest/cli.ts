/**
 * `qrexec-policy test CASES...`: run policy test cases against --path /
 * --system-info; print each failure with the deciding rule and expected vs
 * actual, then `N passed, M failed`. Exit 0 all passed, 1 a failure (or a
 * policy that does not load, or a malformed case), 2 usage.
 */
import { FileSourceError, nodeFileSource, type FileSource } from '../parser/file-source.js';
import type { Rule } from '../parser/rule.js';
import { Policy } from '../policy/policy.js';
import { ruleDisplay, ruleLocation } from '../render/text.js';
import type { Io } from '../io/io.js';
import { CANNOT_DECIDE, openSources, showPaths, type SourceOptions } from '../io/sources.js';
import { expandArg, namedFiles } from '../lint/inputs.js';
import { expectationText, isBad, parseCases, type BadCase, type Case } from './cases.js';
import { actualText, runCases } from './run.js';
import { expected } from '../errors.js';

export interface TestArgs extends SourceOptions {
  cases: string[];
  coverage: boolean;
  verbose: boolean;
}

export async function runTest(a: TestArgs, io: Io, fs: FileSource = nodeFileSource): Promise<number> {
  const show = showPaths(a, fs);
  const where = (r: Rule) => `${ruleLocation(r, show)}: ${ruleDisplay(r)}`;
  if (a.coverage && a.legacy) {
    io.err('qrexec-policy test: --coverage needs the policy.d rules (not --legacy)\n');
    return 2;
  }
  const cases: Array<Case | BadCase> = [];
  for (const arg of a.cases) {
    const { files, errors } = namedFiles(fs, arg, (n) => /\.(cases|json)$/.test(n));
    if (errors.length) {
      io.err(`qrexec-policy test: ${errors[0]}\n`);
      return 2;
    }
    if (files.length === 0) {
      const gone = fs.kind(arg) === 'missing' && expandArg(fs, arg).length === 1;
      io.err(`qrexec-policy test: ${gone ? `${arg}: does not exist` : `no test cases in ${arg}`}\n`);
      return 2;
    }
    for (const file of files) {
      try {
        cases.push(...parseCases(file, fs.read(file)));
      } catch (err) {
        expected(err, FileSourceError);
        io.err(`qrexec-policy test: ${err.message}\n`);
        return 2;
      }
    }
  }
  const sources = await openSources(a, io.env, fs);
  if ('problem' in sources) {
    io.err(`qrexec-policy test: could not decide: ${sources.problem}\n`);
    return CANNOT_DECIDE;
  }
  const { si, ruleset } = sources;
  // (--legacy reads each service's file when a case needs it: its errors show as denials)
  const loadErrors = ruleset instanceof Policy ? ruleset.errors : [];
  for (const e of loadErrors) io.err(`qrexec-policy test: policy failed to load: ${e.describe()}\n`);
  if (loadErrors.length) return 1;
  const good = cases.filter((c): c is Case => !isBad(c));
  const { outcomes, reached } = runCases(ruleset, si, good);
  let failed = 0;
  // in file order: a malformed line is reported where it stands, among the other cases
  let next = 0;
  for (const c of cases) {
    if (isBad(c)) {
      failed++;
      io.out(`FAIL ${c.where}: bad test case: ${c.error}\n`);
      continue;
    }
    const o = outcomes[next++]!;
    const { source, target, service } = o.case;
    const request = `${source} ${target === '' ? "''" : target} ${service}`;
    if (o.pass) {
      if (a.verbose) io.out(`ok   ${o.case.where}: ${request} -> ${expectationText(o.case.expect)}\n`);
      continue;
    }
    failed++;
    const rule = o.decision.rule;
    io.out(
      `FAIL ${o.case.where}: ${request}\n` +
        `  expected: ${expectationText(o.case.expect)}\n` +
        `  actual:   ${actualText(o.decision, show)}\n` +
        `  rule:     ${rule ? where(rule) : 'none'}\n`,
    );
  }
  io.out(`${cases.length - failed} passed, ${failed} failed\n`);
  if (a.coverage) {
    // --coverage is refused with --legacy above: this is a Policy
    const rules = (ruleset as Policy).rules;
    const missed = rules.filter((r) => !reached.has(r));
    io.out(`coverage: ${rules.length - missed.length} of ${rules.length} rules decided a case\n`);
    for (const r of missed) io.out(`  not reached: ${where(r)}\n`);
  }
  return failed ? 1 : 0;
}

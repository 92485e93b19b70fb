/**
 * `qrexec-policy lint`: every check with a policy that triggers it and one
 * that must not, the seeded-bugs fixture against its golden files in all
 * four formats, SARIF shape, the command line, and no findings on the
 * project's example tree. (Soundness by brute force: soundness.test.ts.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { matchGolden } from '../helpers/golden.js';
import { FileSourceError, memoryFileSource, nodeFileSource, type FileSource } from '../../src/parser/file-source.js';
import { parseToken, type Token, type TokenContext } from '../../src/parser/tokens.js';
import type { Rule } from '../../src/parser/rule.js';
import type { SystemInfo } from '../../src/policy/system-info.js';
import { lint } from '../../src/lint/lint.js';
import { runLint, ruleList, type LintArgs } from '../../src/lint/cli.js';
import { artifactUri, render, textLine } from '../../src/lint/output.js';
import { LINT_RULES, RULE_IDS, RULES, diagnostic, isRuleId } from '../../src/lint/rules.js';
import {
  atoms,
  expansionCovers,
  mayOverlapButTarget,
  sameEffect,
  sameRule,
  sourceCovers,
  sourcesMayOverlap,
  targetCovers,
} from '../../src/lint/cover.js';
import { analyseReach, reachMessage } from '../../src/lint/shadow.js';
import { defaultNeverOffered } from '../../src/lint/ask-default.js';
import { ignoredReason } from '../../src/lint/files.js';
import { collectInputs, expandArg } from '../../src/lint/inputs.js';
import { displayPath } from '../../src/lint/display.js';
import type { TreeSpec } from '../../src/lint/tree.js';
import { LEGACY_DIR, makeSystem, memPolicy, memTree, POLICY_DIR, uuidOf, type TreeOptions } from '../helpers/policy.js';
import { captureIo } from '../cli/fixtures/cli.js';
import { umbrellaMain } from '../../src/cli/umbrella.js';

const ROOT = fs.realpathSync(fileURLToPath(new URL('../..', import.meta.url)));
const SEEDED = path.join(ROOT, 'test/lint/fixtures/seeded');
const EXAMPLES = path.join(ROOT, 'policy.d-examples');
const REALWORLD = path.resolve(ROOT, '../shared/realworld/trees');

const tok = (text: string, ctx: TokenContext = 'target'): Token => parseToken(text, ctx);
const rulesOf = (text: string): Rule[] => {
  const p = memPolicy({ '50-test.policy': text });
  if (p.errors.length) throw new Error(p.errors[0]!.describe());
  return [...p.rules];
};

interface MemLint extends TreeOptions {
  si?: SystemInfo | null;
  specs?: TreeSpec[];
  legacyDefault?: boolean;
}

/** Lint files in POLICY_DIR (in memory); findings as `FILE:LINE:COL rule`. */
function lintMem(files: Record<string, string>, o: MemLint = {}): string[] {
  return lintMemFull(files, o).map((d) => `${d.file}${d.line === null ? '' : `:${d.line}:${d.column}`} ${d.rule}`);
}

function lintMemFull(files: Record<string, string>, o: MemLint = {}) {
  const fs = memTree(files, o);
  return lint(o.specs ?? [{ kind: 'dirs', dirs: [POLICY_DIR] }], {
    fs,
    legacyPath: LEGACY_DIR,
    legacyDefault: o.legacyDefault ?? o.legacy === undefined,
    systemInfo: o.si ?? null,
    cwd: '/etc/qubes',
  }).diagnostics;
}

const P = 'policy.d/50-test.policy';

t.test('rule registry', async (t) => {
  t.ok(RULE_IDS.length >= 40);
  t.equal(new Set(RULE_IDS).size, RULE_IDS.length, 'ids are unique');
  for (const r of LINT_RULES) {
    t.ok(/^[a-z0-9]+(-[a-z0-9]+)*$/.test(r.id), `${r.id} is kebab-case`);
    t.ok(r.description.length > 10, `${r.id} has a description`);
    // every syntax id is the loader's, every other one has a check of its own
    t.equal(r.check.per === 'loader', r.severity === 'error', `${r.id}: errors come from the loader, and only errors`);
  }
  t.equal(RULES.get('field-count')!.severity, 'error');
  t.equal(RULES.get('shadowed')!.severity, 'warning');
  t.equal(RULES.get('compat-not-checked')!.severity, 'note');
  t.same(
    LINT_RULES.filter((r) => r.needs === 'system-info').map((r) => r.id),
    ['unknown-qube', 'unknown-tag', 'dispvm-not-template'],
  );
  t.same(
    LINT_RULES.filter((r) => r.needs === 'whole-policy').map((r) => r.id),
    ['redundant', 'ask-default-target'],
  );
  t.ok(isRuleId('shadowed'));
  t.notOk(isRuleId('constructor'), 'not fooled by Object.prototype');
  const list = ruleList();
  t.equal(list.split('\n').length - 1, RULE_IDS.length);
  t.match(list, /^shadowed +warning +earlier rules match/m);
  t.same(diagnostic('redundant', 'm', 'f', 1, 2), { rule: 'redundant', severity: 'warning', message: 'm', file: 'f', line: 1, column: 2 });
});

t.test('cover.ts: set relations between columns', async (t) => {
  t.test('source coverage', async (t) => {
    const yes: Array<[string, string]> = [
      ['*', '@adminvm'],
      ['*', 'work'],
      ['@anyvm', 'work'],
      ['@anyvm', 'uuid:11111111-2222-3333-4444-555555555555'],
      ['@anyvm', '@type:AppVM'],
      ['@anyvm', '@anyvm'],
      ['@anyvm', '@dispvm:x'],
      ['work', '@dispvm:@tag:t'],
      ['@adminvm', 'dom0'],
      ['dom0', 'uuid:00000000-0000-0000-0000-000000000000'],
      ['@adminvm', '@type:AdminVM'],
      ['@tag:t', '@tag:t'],
      ['@type:AppVM', '@type:AppVM'],
      ['work', 'work'],
    ];
    const no: Array<[string, string]> = [
      ['@anyvm', '*'],
      ['@anyvm', '@adminvm'],
      ['@anyvm', '@tag:t'],
      ['@anyvm', '@type:AdminVM'],
      ['@adminvm', '@anyvm'],
      ['@adminvm', '@type:AppVM'],
      ['@adminvm', '@tag:t'],
      ['work', 'personal'],
      ['work', '@anyvm'],
      ['@tag:t', 'work'],
      ['@tag:t', '@tag:u'],
      ['@type:AppVM', 'work'],
      ['@dispvm:x', 'work'],
    ];
    for (const [e, r] of yes) t.ok(sourceCovers(tok(e, 'source'), tok(r, 'source')), `${e} covers ${r}`);
    for (const [e, r] of no) t.notOk(sourceCovers(tok(e, 'source'), tok(r, 'source')), `${e} does not cover ${r}`);
  });

  t.test('target coverage', async (t) => {
    const yes: Array<[string, string]> = [
      ['*', '@adminvm'],
      ['@anyvm', '@default'],
      ['@anyvm', '@dispvm'],
      ['@anyvm', '@dispvm:x'],
      ['@anyvm', '@dispvm:@tag:t'],
      ['@anyvm', 'work'],
      ['@anyvm', 'uuid:11111111-2222-3333-4444-555555555555'],
      ['@anyvm', '@type:TemplateVM'],
      ['@adminvm', '@type:AdminVM'],
      ['@default', '@default'],
      ['@dispvm:x', '@dispvm:x'],
    ];
    const no: Array<[string, string]> = [
      ['@anyvm', '@adminvm'],
      ['@anyvm', '*'],
      ['@anyvm', '@tag:t'],
      ['@anyvm', '@type:AdminVM'],
      ['@adminvm', '@type:AppVM'],
      ['@adminvm', 'work'],
      ['@default', '@dispvm'],
      ['@dispvm', '@dispvm:x'],
      ['@dispvm:x', '@dispvm'],
      ['@dispvm:@tag:t', '@dispvm:x'],
      ['work', '@anyvm'],
    ];
    for (const [e, r] of yes) t.ok(targetCovers(tok(e), tok(r)), `${e} covers ${r}`);
    for (const [e, r] of no) t.notOk(targetCovers(tok(e), tok(r)), `${e} does not cover ${r}`);
    t.same(
      atoms(tok('*')).map((a) => a.text),
      ['@anyvm', '@adminvm'],
    );
    t.same(
      atoms(tok('work')).map((a) => a.text),
      ['work'],
    );
  });

  t.test('sources that may overlap', async (t) => {
    const yes: Array<[string, string]> = [
      ['*', 'work'],
      ['work', 'uuid:11111111-2222-3333-4444-555555555555'],
      ['@adminvm', 'dom0'],
      ['@anyvm', '@anyvm'],
      ['@anyvm', 'work'],
      ['@tag:a', '@anyvm'],
      ['@tag:a', '@adminvm'],
      ['work', '@tag:a'],
      ['@tag:a', '@tag:b'],
      ['@type:X', '@tag:a'],
      ['@adminvm', '@type:AdminVM'],
      ['@anyvm', '@type:AppVM'],
      ['@type:AppVM', 'work'],
      ['work', 'work'],
      ['@type:AppVM', '@type:AppVM'],
    ];
    const no: Array<[string, string]> = [
      ['@dispvm:x', '*'],
      ['*', '@dispvm:@tag:t'],
      ['@adminvm', '@type:AppVM'],
      ['@anyvm', '@type:AdminVM'],
      ['work', 'personal'],
      ['@type:AppVM', '@type:TemplateVM'],
      ['@adminvm', '@anyvm'],
      ['work', '@adminvm'],
    ];
    for (const [a, b] of yes) t.ok(sourcesMayOverlap(tok(a, 'source'), tok(b, 'source')), `${a} / ${b}`);
    for (const [a, b] of no) t.notOk(sourcesMayOverlap(tok(a, 'source'), tok(b, 'source')), `${a} / ${b} are disjoint`);
    const [a, b, c, d] = rulesOf('s1 * work vault deny\ns2 * work vault deny\n* * work vault deny\ns1 +x work vault deny\n');
    t.notOk(mayOverlapButTarget(a!, b!), 'different services');
    t.ok(mayOverlapButTarget(a!, c!), '* service');
    t.ok(mayOverlapButTarget(d!, a!), '* argument');
    const [e] = rulesOf('s1 +y work vault deny\n');
    t.notOk(mayOverlapButTarget(d!, e!), 'different arguments');
  });

  t.test('expansion coverage, same effect, same rule', async (t) => {
    t.ok(expansionCovers(tok('work'), tok('work')));
    t.ok(expansionCovers(tok('*'), tok('@tag:t')));
    t.notOk(expansionCovers(tok('*'), tok('@adminvm')), 'expanding * names dom0, not @adminvm');
    t.notOk(expansionCovers(tok('*'), tok('@dispvm:uuid:11111111-2222-3333-4444-555555555555')));
    t.ok(expansionCovers(tok('@anyvm'), tok('@dispvm:x')));
    t.notOk(expansionCovers(tok('@anyvm'), tok('@dispvm:uuid:11111111-2222-3333-4444-555555555555')));
    t.notOk(expansionCovers(tok('@anyvm'), tok('@tag:t')), 'dom0 may carry the tag');
    t.notOk(expansionCovers(tok('work'), tok('personal')));
    const [a, b, c, d, e] = rulesOf(
      [
        'svc * work vault allow target=dom0 user=u',
        'svc * @anyvm * allow target=@adminvm user=u',
        'svc * work vault allow target=dom0 user=v',
        'svc * work vault ask default_target=vault',
        'svc * work vault ask default_target=vault notify=yes',
      ].join('\n'),
    );
    t.ok(sameEffect(a!, b!), 'dom0 and @adminvm redirects are the same');
    t.notOk(sameEffect(a!, c!), 'user differs');
    t.notOk(sameEffect(d!, e!), 'notify differs');
    t.notOk(sameRule(a!, b!), 'columns differ');
    t.ok(sameRule(a!, a!));
  });
});

t.test('shadowed, duplicate, unmatchable-source, redundant', async (t) => {
  t.test('reported', async (t) => {
    const findings = lintMem({
      '50-test.policy': [
        'svc * @anyvm vault allow', // 1
        'svc * work vault deny', // 2 shadowed by 1
        'svc2 * work @anyvm allow', // 3
        'svc2 * work dom0 deny', // 4
        'svc2 * work * ask', // 5 shadowed by 3 and 4
        'svc3 * work dom0 allow', // 6
        'svc3 * work @adminvm allow', // 7 duplicate of 6
        'svc4 * @dispvm:default-dvm vault allow', // 8 unmatchable
        'svc5 +a work vault allow', // 9 redundant with 11
        'svc5 * personal vault deny', // 10 (cannot see work)
        'svc5 * @anyvm vault allow', // 11
        '* * @anyvm @anyvm deny', // 12
        '* * @anyvm @anyvm deny', // 13 duplicate of 12
        '* * work @anyvm deny', // 14 shadowed by 12 (a * service rule)
        '',
      ].join('\n'),
    });
    t.same(findings, [
      `${P}:2:1 shadowed`,
      `${P}:5:1 shadowed`,
      `${P}:7:1 duplicate`,
      `${P}:8:1 unmatchable-source`,
      `${P}:9:1 redundant`,
      `${P}:13:1 duplicate`,
      `${P}:14:1 shadowed`,
    ]);
  });

  t.test('the wide tokens cover through the index too', async (t) => {
    const text = 'svc * @adminvm vault allow\nsvc * @type:AdminVM vault deny\nsvc2 * work @adminvm allow\nsvc2 +x work @type:AdminVM deny\n';
    t.same(lintMem({ '50-test.policy': text }), [`${P}:2:1 shadowed`, `${P}:4:1 shadowed`]);
  });

  t.test('messages', async (t) => {
    const rules = rulesOf('svc * @anyvm vault allow\nsvc * work vault allow\nsvc * work vault deny\n');
    t.equal(reachMessage({ kind: 'duplicate', of: rules[0]! }), 'duplicate of the rule at /etc/qubes/policy.d/50-test.policy:1: this one can never decide');
    t.match(reachMessage({ kind: 'shadowed', by: [rules[0]!] }), /^shadowed: \S+:1 matches every request/);
    t.match(reachMessage({ kind: 'shadowed', by: [rules[0]!, rules[1]!] }), /^shadowed: \S+:1 and \S+:2 match every request/);
    t.match(reachMessage({ kind: 'redundant', by: rules[1]! }), /^redundant: the later rule at \S+:2 decides/);
    t.match(reachMessage({ kind: 'unmatchable-source' }), /never matches a caller/);
    t.match(reachMessage({ kind: 'reloaded' }), /loaded twice/);
  });

  t.test('not reported', async (t) => {
    const clean = [
      // partial overlap only
      'svc * work @anyvm allow',
      'svc * @anyvm vault deny',
      // @anyvm does not cover dom0, a tag may be dom0's
      'svc1 * @anyvm @anyvm deny',
      'svc1 * @anyvm @adminvm allow',
      'svc1 * @tag:t @tag:t allow',
      'svc1 * @anyvm @tag:t ask',
      // different arguments
      'svc2 +a work vault allow',
      'svc2 +b work vault deny',
      // a later rule with the same effect, but a rule in between sees the caller
      'svc3 +a work vault allow',
      'svc3 * @tag:t vault deny',
      'svc3 * @anyvm vault allow',
      // a later rule with another effect
      'svc4 +a work vault allow',
      'svc4 * @anyvm vault allow notify=yes',
      // matching can fault: not redundant (@dispvm:X target, uuid: source)
      'svc5 +a work @dispvm:default-dvm allow',
      'svc5 * @anyvm @anyvm allow',
      `svc6 +a uuid:${uuidOf(makeSystem(), 'work')} vault allow`,
      'svc6 * @anyvm vault allow',
      // ask choices could differ: @adminvm is not in what * expands to
      'svc7 +a work @adminvm allow',
      'svc7 * work * allow',
      // the final * default: a service's own deny stays
      'svc8 * @anyvm @anyvm deny',
      '* * @anyvm @anyvm deny',
      '',
    ].join('\n');
    t.same(lintMem({ '50-test.policy': clean }), []);
  });

  t.test('redundancy needs the complete policy', async (t) => {
    const text = 'svc +a work vault allow\nsvc * @anyvm vault allow\n';
    t.same(lintMem({ '50-test.policy': text }), [`${P}:1:1 redundant`]);
    // a syntax error elsewhere: the rule it hides could be anywhere
    t.same(lintMem({ '50-test.policy': text, '60-bad.policy': 'svc * work\n' }), ['policy.d/60-bad.policy:1:1 field-count']);
    // unknown R4.0 rules between the two (the default legacy directory is missing)
    const split = { '30-a.policy': 'svc +a work vault allow\n', '35-compat.policy': '!compat-4.0\n', '40-b.policy': 'svc * @anyvm vault allow\n' };
    t.same(lintMem(split), ['policy.d/35-compat.policy:1:1 compat-not-checked']);
    // with the legacy directory given and empty, the rule is redundant again
    t.same(lintMem(split, { legacy: {} }), ['policy.d/30-a.policy:1:1 redundant']);
    // chosen files that are not all of the directory: other files could come in between
    const files: TreeSpec = { kind: 'files', dir: POLICY_DIR, files: [`${POLICY_DIR}/30-a.policy`, `${POLICY_DIR}/40-b.policy`], partial: true };
    t.same(lintMem(split, { legacy: {}, specs: [files] }), []);
    t.same(lintMem({ '50-test.policy': text }, { specs: [{ ...files, files: [`${POLICY_DIR}/50-test.policy`], partial: false }] }), [`${P}:1:1 redundant`]);
  });

  t.test('a later rule that can never decide is not the reason', async (t) => {
    const text = 'svc * work vault allow\nsvc * @anyvm vault deny\nsvc * work vault allow\n';
    t.same(lintMem({ '50-test.policy': text }), [`${P}:3:1 duplicate`]);
    // implicit compat rules are never reported, nor used as the later rule
    const legacy = { 'svc+a': '$anyvm $anyvm deny\n' };
    t.same(lintMem({ '35-compat.policy': '!compat-4.0\n', '50-test.policy': '' }, { legacy }), []);
    const reach = analyseReach(memPolicy({ '35-compat.policy': '!compat-4.0\n' }, { legacy: { 'svc+a': 'work vault allow\n' } }).rules, {
      redundancy: true,
      barriers: [],
    });
    t.same([...reach.keys()], [], 'the implicit denies are not findings');
    t.same(analyseReach(rulesOf('svc +a work vault allow\nsvc * @anyvm vault allow\n'), { redundancy: false, barriers: [] }).size, 0);
  });

  t.test('a file included twice', async (t) => {
    const twice = lintMemFull(
      {
        '50-test.policy': '!include-service svc * include/x\n!include-service svc * include/x\n!include-service svc2 * include/x\n',
        'include/x': 'work vault allow\n',
      },
      {},
    );
    t.same(
      twice.map((d) => `${d.file}:${d.line}:${d.column} ${d.rule} ${d.message}`),
      [`${P}:2:24 duplicate include/x is already included for svc * at ${P}:1: its rules load twice and the second copy can never decide`],
    );
    const policyTwice = lintMemFull({ '50-test.policy': '!include include/y\n!include include/y\n', 'include/y': 'svc * work vault allow\nsvc2 * work vault allow\n' });
    t.same(
      policyTwice.map((d) => `${d.file}:${d.line} ${d.rule} ${d.message}`),
      ['policy.d/include/y:1 duplicate this file is loaded twice (it is included twice): the second copy of its rules can never decide'],
    );
  });
});

t.test('ask default_target that can never be offered', async (t) => {
  const never = (text: string, complete = true): string | null => {
    const rules = rulesOf(text);
    return defaultNeverOffered(rules[0]!, rules, complete);
  };
  t.equal(never('svc * work vault allow'), null, 'not an ask');
  t.equal(never('svc * work vault ask'), null, 'no default_target');
  t.equal(never('svc * work @anyvm ask autostart=no default_target=@dispvm'), 'autostart=no offers no disposables');
  t.equal(never('svc * work @anyvm ask autostart=no default_target=@dispvm:default-dvm'), 'autostart=no offers no disposables');
  t.equal(never('svc * work @anyvm ask autostart=no default_target=vault'), null);
  t.equal(never('svc * work @anyvm ask target=vault default_target=personal'), 'the rule offers only its target=vault');
  t.equal(never('svc * work @anyvm ask target=vault default_target=vault'), null);
  t.equal(never('svc * work @anyvm ask target=@adminvm default_target=dom0'), null, 'dom0 spellings are one');
  t.equal(never('svc * work @anyvm ask target=dom0 default_target=@adminvm'), null);
  t.equal(never('svc * work @anyvm ask target=@dispvm:default-dvm default_target=@dispvm'), null, 'could be the default disposable');
  t.equal(never('svc * work @anyvm ask target=@dispvm default_target=@dispvm'), 'the rule offers only its target=@dispvm');
  t.equal(never('svc * work @anyvm ask default_target=uuid:11111111-2222-3333-4444-555555555555'), 'choices are offered by name, never as uuid:');
  t.equal(never('svc * work @anyvm ask default_target=work'), 'that is the calling qube itself, which is never offered');
  t.equal(never('svc * @adminvm @anyvm ask default_target=dom0'), 'that is the calling qube itself, which is never offered');
  const lonely = 'svc * work @default ask default_target=vault';
  t.match(never(lonely), /^no allow or ask rule for these calls could add vault/);
  t.equal(never(lonely, false), null, 'an incomplete policy could have the rule that adds it');
  // each kind of default and the rules that could add it
  const adds: Array<[string, string]> = [
    ['vault', 'vault'],
    ['vault', 'uuid:11111111-2222-3333-4444-555555555555'],
    ['vault', '@tag:t'],
    ['vault', '@type:AppVM'],
    ['vault', '@anyvm'],
    ['vault', '*'],
    ['dom0', '@adminvm'],
    ['dom0', '*'],
    ['dom0', '@tag:t'],
    ['dom0', '@type:AdminVM'],
    ['@dispvm', '@dispvm'],
    ['@dispvm', '@anyvm'],
    ['@dispvm', '@dispvm:default-dvm'],
    ['@dispvm', '@dispvm:@tag:t'],
    ['@dispvm:default-dvm', '@dispvm:default-dvm'],
    ['@dispvm:default-dvm', '@dispvm'],
    ['@dispvm:default-dvm', '*'],
    // a rule's @dispvm:uuid:U is offered by its template's name
    ['@dispvm:default-dvm', '@dispvm:uuid:11111111-2222-3333-4444-555555555555'],
    ['@dispvm', '@dispvm:uuid:11111111-2222-3333-4444-555555555555'],
  ];
  for (const [dt, target] of adds)
    t.equal(never(`svc * work @default ask default_target=${dt}\nsvc * @anyvm ${target} allow`), null, `${target} can add ${dt}`);
  const cannot: Array<[string, string]> = [
    ['vault', 'personal'],
    ['vault', '@adminvm'],
    ['vault', '@dispvm'],
    ['dom0', '@anyvm'],
    ['dom0', 'vault'],
    ['dom0', '@type:AppVM'],
    ['@dispvm', 'vault'],
    ['@dispvm:default-dvm', '@dispvm:alt-dvm'],
    ['@dispvm:default-dvm', 'vault'],
  ];
  for (const [dt, target] of cannot)
    t.match(never(`svc * work @default ask default_target=${dt}\nsvc * @anyvm ${target} allow`), /^no allow or ask rule/, `${target} cannot add ${dt}`);
  // choices are offered by name: a default spelled with a uuid never is one of them
  for (const dt of ['uuid:11111111-2222-3333-4444-555555555555', '@dispvm:uuid:11111111-2222-3333-4444-555555555555'])
    t.match(never(`svc * work @default ask default_target=${dt}\nsvc * @anyvm ${dt} allow`), /offered by name/, dt);
  t.match(never('svc * work @default ask default_target=vault\nsvc * @anyvm vault deny'), /^no allow or ask/, 'a deny adds nothing');
  t.match(never('svc * work @default ask default_target=vault\nsvc * personal vault allow'), /^no allow or ask/, 'another caller');
  t.equal(never('svc * work @default ask default_target=vault\nsvc * personal @default allow target=vault\nsvc * work @default allow target=vault'), null, 'target= adds');
  t.same(lintMem({ '50-test.policy': 'svc * work @default ask  default_target=vault\n' }), [`${P}:1:26 ask-default-target`]);
});

t.test('dangerous allows, $ tokens, names unknown to the system', async (t) => {
  const danger = [
    '* * @anyvm @anyvm allow', // 1
    '* * * dom0 allow', // 2
    '* * @anyvm @default allow target=@adminvm', // 3
    '* * * * allow', // 4
    '',
  ].join('\n');
  const found = lintMemFull({ '50-test.policy': danger }).filter((d) => d.rule === 'dangerous-allow');
  t.same(
    found.map((d) => `${d.line} ${d.message}`),
    [
      '1 every qube (@anyvm) may call any service in every qube (@anyvm) without being asked',
      '2 every qube (*) may call any service in dom0 without being asked',
      '3 every qube (@anyvm) may call any service in dom0 without being asked',
      '4 every qube (*) may call any service in every qube (*) without being asked',
    ],
  );
  const safe = ['* * @anyvm @anyvm ask', '* * @anyvm @anyvm deny', 'svc * @anyvm @anyvm allow', '* * work @anyvm allow', '* * @anyvm vault allow', '* * @anyvm @default allow target=vault', ''].join('\n');
  t.same(lintMem({ '50-test.policy': safe }).filter((f) => f.endsWith('dangerous-allow')), []);

  const dollar = lintMemFull({
    '50-test.policy': 'svc * $anyvm $dispvm:$x allow\nsvc2 * work @default ask target=$v default_target=$w\n',
    'include/s': '$anyvm $anyvm deny\n',
    '60-inc.policy': '!include-service svc3 * include/s\n',
  }).filter((d) => d.rule === 'dollar-token');
  t.same(
    dollar.map((d) => `${d.line}:${d.column} ${d.message}`),
    [
      '1:7 $anyvm is a literal qube name in a policy.d file and matches nothing (write @anyvm)',
      '1:14 $dispvm:$x is a literal qube name in a policy.d file and matches nothing (write @dispvm:@x)',
      '2:26 $v is a literal qube name in a policy.d file and matches nothing (write @v)',
      '2:36 $w is a literal qube name in a policy.d file and matches nothing (write @w)',
    ],
    'service files translate $, policy.d files do not',
  );

  // a user= qrexec-daemon cannot be sent: the evaluator denies those calls, lint says why
  const users = lintMemFull({
    '50-test.policy': [
      'svc * work personal allow user=j\u00fcrgen',
      'svc * work @default ask user=' + 'u'.repeat(4100),
      'svc * work vault deny user=j\u00fcrgen',
      'svc * work @anyvm allow user=root',
      '',
    ].join('\n'),
  }).filter((d) => d.rule === 'unsendable-user');
  t.same(
    users.map((d) => `${d.line}:${d.column} ${d.severity} ${d.message}`),
    [
      '1:27 warning user=j\u00fcrgen cannot be passed to qrexec-daemon (not printable ASCII): every call this rule allows is denied',
      `2:25 warning user=${'u'.repeat(40)}… cannot be passed to qrexec-daemon (over 4096 bytes): every call this rule offers is denied`,
    ],
    'deny rules and ordinary names are fine',
  );

  const si = makeSystem({ 'remote-x': { type: 'RemoteVM' } });
  const unknown = [
    'svc * wrok personal allow', // 1 unknown qube
    'svc * @tag:nope @tag:work allow', // 2 unknown tag
    'svc * @type:AppVm @type:RemoteVM allow', // 3 unknown type; RemoteVM exists
    'svc * work @dispvm:vault allow', // 4 not a disposable template
    'svc * work @dispvm:ghost allow', // 5 unknown qube
    `svc * work uuid:${'9'.repeat(8)}-0000-4000-8000-000000000000 allow`, // 6 unknown uuid
    'svc * work @dispvm:@tag:nope allow', // 7 unknown tag
    'svc * work @default allow target=nobody', // 8 unknown qube in target=
    'svc * $anyvm personal allow', // 9 only the $ finding
    `svc * uuid:${uuidOf(si, 'work')} @dispvm:default-dvm ask default_target=vault`, // 10 known
    'svc * @type:StandaloneVM dom0 allow', // 11 a Qubes type nobody has yet: fine
    '',
  ].join('\n');
  const got = lintMemFull({ '50-test.policy': unknown }, { si }).filter((d) => d.rule !== 'shadowed' && d.rule !== 'redundant');
  t.same(
    got.map((d) => `${d.line}:${d.column} ${d.rule} ${d.message}`),
    [
      '1:7 unknown-qube no qube wrok in the system info',
      '2:7 unknown-tag no qube carries the tag nope',
      '3:7 unknown-type no qube type AppVm (Qubes types: AppVM, TemplateVM, StandaloneVM, DispVM, AdminVM, RemoteVM)',
      '4:12 dispvm-not-template @dispvm:vault: vault is not a disposable template (template_for_dispvms is false)',
      '5:12 unknown-qube no qube ghost in the system info',
      '6:12 unknown-qube no qube uuid:99999999-0000-4000-8000-000000000000 in the system info',
      '7:12 unknown-tag no qube carries the tag nope',
      '8:27 unknown-qube no qube nobody in the system info',
      '9:7 dollar-token $anyvm is a literal qube name in a policy.d file and matches nothing (write @anyvm)',
    ],
  );
  t.same(
    lintMem({ '50-test.policy': 'svc * @type:AppVm @type:Custom allow\n' }, { si: makeSystem({ odd: { type: 'Custom' } }) }),
    [`${P}:1:7 unknown-type`],
    'a type some qube has is known',
  );
  t.same(lintMem({ '50-test.policy': 'svc * @type:AppVm wrok allow\n' }), [`${P}:1:7 unknown-type`], 'types are checked without system info');
});

t.test('files: ignored names, invalid names, includes outside, unreadable', async (t) => {
  t.equal(ignoredReason('30-user.policy', 'file'), null);
  t.equal(ignoredReason('30-user.policy', 'dir'), 'it is not a regular file');
  t.equal(ignoredReason('.30-user.policy.swp', 'file'), 'names starting with . are ignored');
  t.equal(ignoredReason('30-user.policy.rpmnew', 'file'), 'only names ending in .policy are loaded');
  t.equal(ignoredReason('30-user.Policy', 'file'), 'only names ending in .policy are loaded');
  t.equal(ignoredReason('30-user', 'file'), 'it looks like a policy file but only names ending in .policy are loaded');
  t.equal(ignoredReason('30-user', 'dir'), null);
  t.equal(ignoredReason('README', 'file'), null);
  t.equal(ignoredReason('include', 'dir'), null);
  t.equal(ignoredReason('.hidden', 'file'), null);

  const found = lintMem(
    {
      '30-user.policy': 'svc * work vault allow\n',
      '40-extra': 'x',
      '50-x.policy.swp': 'x',
      'Bad.policy': 'svc * work\n',
      '60-ok.policy': 'svc2 * work\n',
      '35-compat.policy': '!compat-4.0\n',
      '70-out.policy': '!include ../../outside/x\n!include-service svc3 * /etc/outside/y\n!include-dir /etc/outdir\n!include include/in\n',
      'include/in': 'svc4 * work vault allow\n',
    },
    {
      legacy: { 'svc.A': 'work vault allow\n', 'bad name': 'x\n', '.hidden': 'x', 'svc.B.rpmsave': 'x' },
      extra: { '/etc/outside/x': 'svc5 * work vault allow\n', '/etc/outside/y': 'work vault allow\n', '/etc/outdir/10-o.policy': 'svc6 * work vault allow\n' },
      dirs: [`${LEGACY_DIR}/include`],
    },
  );
  t.same(found, [
    '/etc/qubes-rpc/policy/bad name file-ignored',
    'policy.d/40-extra file-ignored',
    'policy.d/50-x.policy.swp file-ignored',
    'policy.d/60-ok.policy:1:1 field-count',
    'policy.d/70-out.policy:1:10 include-outside',
    'policy.d/70-out.policy:2:25 include-outside',
    'policy.d/70-out.policy:3:14 include-outside',
    'policy.d/Bad.policy file-name',
  ]);
  const names = lintMemFull({ 'Bad.policy': 'svc * work\n', '60-ok.policy': 'svc2 * work\n' });
  t.same(
    names.map((d) => d.message),
    ['wrong number of fields', 'invalid filename: policy.d/Bad.policy (allowed characters: 0-9 a-z _ . -)'],
    'the other files are still checked',
  );
  // chosen files with invalid names are loaded, and still reported
  t.same(lintMem({ 'Bad.policy': 'svc * work vault allow\n' }, { specs: [{ kind: 'files', dir: POLICY_DIR, files: [`${POLICY_DIR}/Bad.policy`], partial: false }] }), [
    'policy.d/Bad.policy file-name',
  ]);
  // service files reached through $include: are checked for the same
  t.same(
    lintMem(
      { '50-a.policy': '!include-service svc * include/s\n', 'include/s': '$include:/etc/elsewhere/t\n' },
      { extra: { '/etc/elsewhere/t': 'work vault allow\n' } },
    ),
    ['policy.d/include/s:1:10 include-outside'],
  );
  // a policy directory that cannot be read, a legacy directory given but missing
  t.same(lintMem({}, { specs: [{ kind: 'dirs', dirs: ['/etc/nowhere'] }] }), ['/etc/nowhere policy-dir']);
  t.same(lintMem({ '35-compat.policy': '!compat-4.0\n' }, { legacyDefault: false }), ['policy.d/35-compat.policy:1:1 legacy-dir']);
  // nested too deep, a line too long: the loader's limits are findings too
  const deep: Record<string, string> = { '50-deep.policy': '!include include/d0\n' };
  for (let i = 0; i < 40; i++) deep[`include/d${i}`] = `!include include/d${i + 1}\n`;
  deep['include/d40'] = '';
  t.same(lintMem(deep).map((f) => f.split(' ')[1]), ['include-depth']);
  t.same(lintMem({ '50-long.policy': `svc * work vault allow user=${'u'.repeat(70000)}\n` }), ['policy.d/50-long.policy:1:1 line-too-long']);
});

t.test('# lint: ignore comments', async (t) => {
  const text = [
    'svc * @anyvm vault allow', // 1
    '# lint: ignore shadowed line 4 is kept for documentation', // 2
    '', // 3
    'svc * work vault deny', // 4 silenced (shadowed)
    '# lint: ignore shadowed', // 5 no reason (still silences)
    'svc * personal vault deny', // 6 silenced
    '#lint:ignore', // 7 no id
    '# lint: ignore unknown-qube needs --system-info', // 8 not checked without system info: not "unused"
    'svc * vault vault deny', // 9 shadowed, not silenced
    '# lint: ignore redundant not redundant', // 10 unused
    'svc2 * work vault allow', // 11
    '# a normal comment', // 12
    '* * * * deny', // 13
    '# lint: ignore shadowed,dangerous-allow both are deliberate here', // 14
    '* * @anyvm @anyvm allow', // 15 shadowed and dangerous: both silenced
    '# lint: ignore dangerous-allow', // 16 at the end: nothing follows
  ].join('\n');
  const got = lintMemFull({ '50-test.policy': text });
  t.same(
    got.map((d) => `${d.line}:${d.column} ${d.rule} ${d.message}`),
    [
      '5:1 lint-ignore # lint: ignore needs a reason after the rule id',
      '7:1 lint-ignore # lint: ignore needs a rule id and a reason',
      '9:1 shadowed shadowed: policy.d/50-test.policy:1 matches every request this rule matches, so it can never decide',
      '10:1 lint-ignore nothing to ignore: no redundant finding on line 11',
      '16:1 lint-ignore # lint: ignore needs a reason after the rule id',
      '16:1 lint-ignore no rule line follows this # lint: ignore',
    ],
  );
  // with R4.0 rules unknown (the default legacy directory is missing) whole-policy checks do not fully run
  const partial = lintMem({
    '35-compat.policy': '!compat-4.0\n',
    '50-test.policy': '# lint: ignore ask-default-target a rule in legacy/ adds vault\nsvc * work @default ask default_target=vault\n',
  });
  t.same(partial, ['policy.d/35-compat.policy:1:1 compat-not-checked'], 'no "nothing to ignore"');
  // the same included file linted twice is reported once
  const twice = lintMem(
    { '50-test.policy': '!include include/x\n', 'include/x': '# lint: ignore shadowed nothing\nsvc * $work vault allow\n' },
    { specs: [{ kind: 'dirs', dirs: [POLICY_DIR] }, { kind: 'files', dir: `${POLICY_DIR}/include`, files: [`${POLICY_DIR}/include/x`], partial: true }] },
  );
  t.same(twice, ['policy.d/include/x:1:1 lint-ignore', 'policy.d/include/x:2:7 dollar-token']);
});

t.test('inputs: directories, files grouped by directory, globs', async (t) => {
  const mem = memoryFileSource({
    '/w/p/30-a.policy': '',
    '/w/p/40-b.policy': '',
    '/w/p/include/x': '',
    '/w/q/10-c.policy': '',
    '/w/q/sub/deep/z.policy': '',
  });
  t.same(expandArg(mem, '/w/p/30-a.policy'), ['/w/p/30-a.policy']);
  t.same(expandArg(mem, '/w/*/*.policy'), ['/w/p/30-a.policy', '/w/p/40-b.policy', '/w/q/10-c.policy']);
  t.same(expandArg(mem, '/w/**/z.policy'), ['/w/q/sub/deep/z.policy']);
  t.same(expandArg(mem, '/w/nothing-*'), []);
  t.same(expandArg(mem, '/w*'), ['/w'], 'a glob in the first path segment');
  t.same(expandArg(mem, '/nope/*'), [], 'a missing base directory matches nothing');
  const inputs = collectInputs(mem, ['/w/p', '/w/q/10-c.policy', '/w/p/include/x', '/w/p/40-b.policy', '/w/p/30-a.policy', '/w/p', '/w/missing', '/w/z*']);
  t.same(inputs.missing, ['/w/missing', '/w/z*']);
  t.same(inputs.specs, [
    { kind: 'dirs', dirs: ['/w/p'] },
    { kind: 'files', dir: '/w/q', files: ['/w/q/10-c.policy'], partial: false },
    { kind: 'files', dir: '/w/p/include', files: ['/w/p/include/x'], partial: true },
    { kind: 'files', dir: '/w/p', files: ['/w/p/30-a.policy', '/w/p/40-b.policy'], partial: false },
  ]);
  t.same(collectInputs(mem, ['/w/p/40-b.policy']).specs, [{ kind: 'files', dir: '/w/p', files: ['/w/p/40-b.policy'], partial: true }]);
  // relative globs (the memory file system resolves them against /)
  t.same(expandArg(memoryFileSource({ '/30-a.policy': '', '/b/40-b.policy': '' }), '*.policy'), ['30-a.policy']);
  t.same(expandArg(memoryFileSource({ '/30-a.policy': '', '/b/40-b.policy': '' }), '**/*.policy'), ['30-a.policy', 'b/40-b.policy']);
  // the real file system, with a directory link that loops back (not followed)
  const dir = fs.realpathSync(t.testdir({ pol: { '30-a.policy': 'svc * work vault allow\n', loop: t.fixture('symlink', '.') } }));
  t.same(expandArg(nodeFileSource, path.join(dir, '**/*.policy')), [path.join(dir, 'pol/30-a.policy')]);
  t.equal(displayPath('/a/b/c', '/a'), 'b/c');
  const fromRoot = lint([{ kind: 'dirs', dirs: [POLICY_DIR] }], {
    fs: memTree({ '50-a.policy': '!include include/none\n' }),
    legacyPath: LEGACY_DIR,
    legacyDefault: true,
    systemInfo: null,
    cwd: '/',
  });
  t.same(
    fromRoot.diagnostics.map((d) => `${d.file}: ${d.message}`),
    ['etc/qubes/policy.d/50-a.policy: not a file: /etc/qubes/policy.d/include/none'],
    'from /: paths relative to it, messages left alone',
  );
  // the working directory's path inside another path is not a path of its own
  t.same(
    lintMemFull({ '50-a.policy': '!include /usr/etc/qubes/none\n!include /etc/qubes/none\n' }).map((d) => d.message),
    ['not a file: /usr/etc/qubes/none', 'not a file: none'],
  );
  t.equal(displayPath('/x/y', '/a'), '/x/y');
  t.equal(displayPath('/a', '/a'), '/a');
  t.equal(displayPath('rel', '/a'), 'rel');
});

t.test('a policy directory that cannot be listed is one finding, not a crash', async (t) => {
  const mem = memTree({ '50-a.policy': 'svc * work vault allow\n' });
  const unlistable: FileSource = { ...mem, list: (d) => { throw new FileSourceError(d, 'permission denied', 'io'); } };
  const got = lint([{ kind: 'dirs', dirs: [POLICY_DIR] }], { fs: unlistable, legacyPath: LEGACY_DIR, legacyDefault: true, systemInfo: null, cwd: '/etc/qubes' }).diagnostics;
  t.same(got.map((d) => `${d.file} ${d.rule} ${d.message}`), ['policy.d policy-dir cannot read the policy directory: permission denied'], 'the directory named once');
});

t.test('paths given relative from outside the working directory: absolute, in messages too', async (t) => {
  const dir = fs.realpathSync(t.testdir({ work: {}, pol: { '50-a.policy': 'svc * work vault allow\nsvc * work vault allow\n' } }));
  t.chdir(path.join(dir, 'work'));
  const got = lint([{ kind: 'dirs', dirs: ['../pol'] }], {
    fs: nodeFileSource,
    legacyPath: path.join(dir, 'none'),
    legacyDefault: false,
    systemInfo: null,
    cwd: process.cwd(),
  }).diagnostics;
  const file = path.join(dir, 'pol/50-a.policy');
  t.same(
    got.map((d) => `${d.file}:${d.line} ${d.message}`),
    [`${file}:2 duplicate of the rule at ${file}:1: this one can never decide`],
    'the location and the rule the message cites name the file the same way',
  );
});

t.test('output formats', async (t) => {
  const diags = [
    diagnostic('field-count', 'wrong number of fields', 'p/a b.policy', 3, 5),
    diagnostic('file-ignored', 'x will be ignored: 50%,\nsee: this', 'p/x,y:z', null, null),
    diagnostic('compat-not-checked', 'note it', '/abs/c.policy', 2, null),
  ];
  t.equal(
    render('text', diags, '1.0'),
    'p/a b.policy:3:5: error: wrong number of fields [field-count]\n' +
      'p/x,y:z: warning: x will be ignored: 50%,\nsee: this [file-ignored]\n' +
      '/abs/c.policy:2:1: note: note it [compat-not-checked]\n' +
      '1 error, 1 warning, 1 note\n',
  );
  t.equal(render('text', [], '1.0'), '');
  t.equal(render('text', [diags[0]!, diags[0]!], '1.0').split('\n').at(-2), '2 errors, 0 warnings');
  t.equal(
    render('github', diags, '1.0'),
    '::error file=p/a b.policy,line=3,col=5,title=field-count::wrong number of fields\n' +
      '::warning file=p/x%2Cy%3Az,title=file-ignored::x will be ignored: 50%25,%0Asee: this\n' +
      '::notice file=/abs/c.policy,line=2,col=1,title=compat-not-checked::note it\n',
  );
  const json = JSON.parse(render('json', diags, '1.0'));
  t.same(json.summary, { errors: 1, warnings: 1, notes: 1 });
  t.same(json.diagnostics[0], { rule: 'field-count', severity: 'error', message: 'wrong number of fields', file: 'p/a b.policy', line: 3, column: 5 });
  t.equal(artifactUri('p/a b.policy'), 'p/a%20b.policy');
  t.equal(artifactUri('/abs/c#.policy'), 'file:///abs/c%23.policy');
  const sarif = JSON.parse(render('sarif', diags, '1.0'));
  assertSarif(t, sarif);
  t.equal(sarif.runs[0].results.length, 3);
  t.notOk('region' in sarif.runs[0].results[1].locations[0].physicalLocation, 'no region for a file-level finding');
  t.same(sarif.runs[0].results[2].locations[0].physicalLocation.region, { startLine: 2, startColumn: 1 });
  t.equal(textLine(diags[0]!), 'p/a b.policy:3:5: error: wrong number of fields [field-count]');
});

/** The properties SARIF 2.1.0's schema requires, and the ones code scanning relies on. */
function assertSarif(t: Test, doc: Record<string, any>): void {
  t.equal(doc.version, '2.1.0');
  t.match(doc.$schema, /sarif-2\.1\.0/);
  t.ok(Array.isArray(doc.runs) && doc.runs.length === 1, 'runs is an array');
  const run = doc.runs[0];
  t.type(run.tool.driver.name, 'string');
  const rules = run.tool.driver.rules as Array<Record<string, any>>;
  t.ok(rules.every((r) => typeof r.id === 'string' && typeof r.shortDescription.text === 'string'));
  t.ok(rules.every((r) => ['error', 'warning', 'note'].includes(r.defaultConfiguration.level)));
  t.ok(Array.isArray(run.results));
  for (const r of run.results as Array<Record<string, any>>) {
    t.type(r.message.text, 'string', 'result.message.text');
    t.ok(['error', 'warning', 'note'].includes(r.level));
    t.equal(rules[r.ruleIndex]!.id, r.ruleId, 'ruleIndex points at the rule');
    const loc = r.locations[0].physicalLocation;
    t.type(loc.artifactLocation.uri, 'string');
    t.doesNotThrow(() => new URL(loc.artifactLocation.uri, 'file:///base/'), 'uri is a URI reference');
    if (loc.region) t.ok(loc.region.startLine >= 1 && loc.region.startColumn >= 1, 'region is 1-based');
  }
}

t.test('seeded bugs: golden files in every format', async (t) => {
  const formats = { text: 'expected.txt', json: 'expected.json', sarif: 'expected.sarif', github: 'expected.github' } as const;
  for (const [format, golden] of Object.entries(formats)) {
    const c = captureIo();
    const status = await runLint(
      {
        ...ARGS,
        paths: [path.join(SEEDED, 'errors.d'), path.join(SEEDED, 'logic.d')],
        legacyPath: path.join(SEEDED, 'legacy'),
        systemInfo: path.join(SEEDED, 'system-info.json'),
        format: format as LintArgs['format'],
      },
      c.io,
      nodeFileSource,
      ROOT,
    );
    t.equal(status, 1, `${format}: errors fail`);
    const file = path.join(SEEDED, golden);
    matchGolden(t, file, c.out, `${format} output (${golden})`);
    if (format === 'sarif') assertSarif(t, JSON.parse(c.out));
  }
  // every rule id the seeded tree is meant to show appears in the golden text
  const text = fs.readFileSync(path.join(SEEDED, 'expected.txt'), 'utf8');
  const shown = new Set([...text.matchAll(/\[([a-z0-9-]+)\]$/gm)].map((m) => m[1]));
  const absent = RULE_IDS.filter((id) => !shown.has(id));
  // shown by the smaller trees above, by the parser's own tests, or not reachable from lint (legacy-not-found)
  t.same(absent, ['compat-recursive', 'include-depth', 'file-read', 'file-too-large', 'too-many-files', 'line-too-long', 'policy-dir', 'legacy-dir', 'legacy-not-found', 'compat-not-checked']);
});

const ARGS: LintArgs = { paths: [], format: 'text', strict: false, quiet: false, listRules: false };

t.test('the command line', async (t) => {
  const run = async (a: Partial<LintArgs>, fsrc: FileSource = nodeFileSource, env: NodeJS.ProcessEnv = {}) => {
    const c = captureIo(env);
    const status = await runLint({ ...ARGS, ...a }, c.io, fsrc, ROOT);
    return { status, out: c.out, err: c.err };
  };
  t.test('no paths: the policy directories given by --path (through the command line)', async (t) => {
    const { umbrellaMain } = await import('../../src/cli/umbrella.js');
    const c = captureIo({});
    const status = await umbrellaMain(['lint', '--path', path.join(ROOT, 'policy.d-examples'), '--legacy-path', path.join(ROOT, 'policy.d-examples/legacy')], c.io);
    t.same([status, c.err], [0, '']);
    t.equal(c.out, '', 'the examples are clean');
  });
  t.test('- reads one policy.d file from standard input, next to the paths given', async (t) => {
    const stdin = (text: string | Buffer) => async (paths: string[]) => {
      const c = captureIo({});
      const status = await runLint({ ...ARGS, paths }, c.io, nodeFileSource, ROOT, () => Buffer.from(text));
      return { status, out: c.out, err: c.err };
    };
    let r = await stdin('svc * @anyvm vault allow\n!include policy.d-examples/include/dom0-services\n* * @anyvm @anyvm allow\n')(['-']);
    t.equal(r.status, 0);
    t.match(r.out, /^<stdin>:3:1: warning: every qube \(@anyvm\) may call any service/m, 'findings name <stdin>');
    t.notMatch(r.out, /include-outside/, 'an include is relative to the working directory, as the file would be');
    r = await stdin('bad\n')(['-', 'policy.d-examples/30-user.policy']);
    t.equal(r.status, 1);
    t.match(r.out, /^<stdin>:1:1: error: wrong number of fields \[field-count\]$/m);
    r = await stdin(Buffer.from([0x61, 0xff]))(['-']);
    t.same([r.status, r.out, r.err], [1, '', 'qrexec-policy lint: <stdin>: not valid UTF-8\n']);
  });
  t.test('--list-rules', async (t) => {
    const r = await run({ listRules: true });
    t.equal(r.status, 0);
    t.equal(r.out, ruleList());
  });
  t.test('usage problems exit 2', async (t) => {
    let r = await run({ paths: ['/no/such/dir', 'neither*'] });
    t.equal(r.status, 2);
    t.equal(r.err, 'qrexec-policy lint: no such file or directory: /no/such/dir\nqrexec-policy lint: no such file or directory: neither*\n');
    r = await run({ paths: [EXAMPLES], systemInfo: '/no/such/si.json' });
    t.equal(r.status, 2);
    t.equal(r.err, 'qrexec-policy lint: cannot read system info /no/such/si.json: does not exist\n');
    r = await run({ paths: [EXAMPLES] }, nodeFileSource, { QREXEC_POLICY_SYSTEM_INFO: path.join(SEEDED, 'logic.d/30-user.policy') });
    t.equal(r.status, 2, 'the environment names system info too');
    t.match(r.err, /not valid JSON/);
  });
  t.test('strict, quiet, exit status', async (t) => {
    const mem = memTree({ '50-a.policy': 'svc * @anyvm vault allow\nsvc * work vault deny\n' });
    let r = await run({ paths: [POLICY_DIR] }, mem);
    t.equal(r.status, 0, 'warnings do not fail');
    t.match(r.out, /\[shadowed\]\n0 errors, 1 warning\n$/);
    r = await run({ paths: [POLICY_DIR], strict: true }, mem);
    t.equal(r.status, 1, '--strict: warnings fail');
    r = await run({ paths: [POLICY_DIR], quiet: true }, mem);
    t.equal(r.status, 0);
    t.equal(r.out, '', '--quiet: only what fails is shown');
    r = await run({ paths: [POLICY_DIR], quiet: true, strict: true }, mem);
    t.equal(r.status, 1);
    t.match(r.out, /\[shadowed\]/);
    const bad = memTree({ '50-a.policy': 'svc * work\nsvc * @anyvm vault allow\nsvc * work vault deny\n' });
    r = await run({ paths: [POLICY_DIR], quiet: true }, bad);
    t.equal(r.status, 1);
    t.equal(r.out, `/etc/qubes/policy.d/50-a.policy:1:1: error: wrong number of fields [field-count]\n1 error, 0 warnings\n`);
  });
  t.test('--path merges directories; no arguments means the default directories', async (t) => {
    const mem = memTree(
      { '50-a.policy': 'svc * @anyvm vault allow\n' },
      { extra: { '/run/qubes/policy.d/50-a.policy': 'svc * work vault deny\n', '/run/qubes/policy.d/60-b.policy': 'svc * work vault deny\n' } },
    );
    let r = await run({ path: ['/run/qubes/policy.d', POLICY_DIR], format: 'json' }, mem);
    t.same(
      JSON.parse(r.out).diagnostics.map((d: { rule: string }) => d.rule),
      ['duplicate'],
      'the /run file wins by basename; 60-b repeats it',
    );
    r = await run({ format: 'json' }, mem);
    t.same(JSON.parse(r.out).summary, { errors: 0, warnings: 1, notes: 0 }, 'the default directories');
  });
  t.test('through the umbrella command', async (t) => {
    const c = captureIo();
    const status = await umbrellaMain(['lint', '--strict', '--format', 'github', EXAMPLES], c.io);
    t.equal(status, 0, 'a note does not fail, even with --strict');
    t.match(c.out, /^::notice file=policy.d-examples\/35-compat.policy,line=9,col=1,title=compat-not-checked::!compat-4.0 not followed/);
    const bad = captureIo();
    t.equal(await umbrellaMain(['lint', '--format', 'xml', EXAMPLES], bad.io), 2, 'an unknown format is a usage error');
  });
});

t.test('no findings on the project examples', async (t) => {
  const c = captureIo();
  const status = await runLint(
    {
      ...ARGS,
      paths: [EXAMPLES, path.join(EXAMPLES, 'include/dom0-services')],
      legacyPath: path.join(EXAMPLES, 'legacy'),
      systemInfo: path.join(EXAMPLES, 'system-info.json'),
      strict: true,
    },
    c.io,
    nodeFileSource,
    ROOT,
  );
  t.equal(c.out, '');
  t.equal(status, 0);
  const plain = captureIo();
  t.equal(await runLint({ ...ARGS, paths: ['policy.d-examples/*.policy'], strict: true }, plain.io, nodeFileSource, ROOT), 0);
  t.match(plain.out, /^policy.d-examples\/35-compat.policy:9:1: note: !compat-4.0 not followed/, 'only the note');
});

t.test('real-world trees: no errors, every finding a kind we judged true', { skip: !fs.existsSync(REALWORLD) && 'no ../shared/realworld' }, async (t) => {
  for (const tree of fs.readdirSync(REALWORLD).sort()) {
    const dir = path.join(REALWORLD, tree);
    const c = captureIo();
    const status = await runLint(
      { ...ARGS, paths: [path.join(dir, 'policy.d')], legacyPath: path.join(dir, 'legacy'), systemInfo: path.join(dir, 'system-info.json'), format: 'json' },
      c.io,
      nodeFileSource,
      ROOT,
    );
    const { diagnostics, summary } = JSON.parse(c.out);
    t.equal(status, 0, `${tree}: no errors`);
    t.equal(summary.errors, 0);
    const kinds = new Set(diagnostics.map((d: { rule: string }) => d.rule));
    for (const k of kinds) t.ok(['shadowed', 'duplicate', 'redundant', 'ask-default-target', 'unknown-qube', 'unknown-tag'].includes(k as string), `${tree}: ${k}`);
  }
});

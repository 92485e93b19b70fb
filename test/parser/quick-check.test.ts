/**
 * The quick check used by the one-request path (parser/quick-check.ts) must
 * never call a line valid that the full parser rejects, and loading with a
 * focus service must give exactly the rules and errors a full load gives for
 * that service.
 */
import t from 'tap';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { plainRuleService, skippableLine } from '../../src/parser/quick-check.js';
import { parseToken, tokenPattern, type TokenContext } from '../../src/parser/tokens.js';
import { pyStrip } from '../../src/parser/text.js';
import { parsePolicyLine } from '../../src/parser/rule.js';
import { loadPolicy, SKIPPABLE_AFTER } from '../../src/parser/loader.js';
import { memoryFileSource } from '../../src/parser/file-source.js';

const SERVICES = ['svc', 'qubes.Filecopy', 'other.Svc', '*', 'bad$', 'a+b', '', '-x'];
const ARGS = ['*', '+', '+x', '+a.b-c_d', 'x', '+a/b', '++', '**'];
const QUBES = ['work', '*', '@anyvm', '@adminvm', '@default', '@dispvm', '@dispvm:dvm', '@dispvm:@tag:t', '@dispvm:', '@dispvm:@x', '@tag:', '@tag:t', '@tag:@t', '@type:AppVM', '@type:', '@foo', 'dom0', 'uuid:00000000-0000-0000-0000-000000000000', 'uuid:', '$anyvm', '*x', 'a@b'];
const ACTIONS = ['allow', 'deny', 'ask', 'permit', 'Allow', ''];
const PARAMS = ['target=work', 'target=*', 'target=', 'target=@dispvm', 'target=@default', 'target=@anyvm', 'target=@dispvm:dvm', 'target=dom0', 'default_target=@dispvm', 'default_target=x', 'user=', 'user=root', 'notify=yes', 'notify=no', 'notify=maybe', 'autostart=no', 'autostart=', 'foo=bar', 'x', '=x', 'target==x', '#', 'user=a=b'];
const SEPS = [' ', '\t', '  ', ' \t '];

/** Mostly ordinary values (so that many lines are valid), sometimes odd ones. */
function pick(good: string[], all: string[]) {
  return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...good) }, { weight: 1, arbitrary: fc.constantFrom(...all) });
}

const line = fc
  .tuple(
    pick(['svc', 'qubes.Filecopy', 'other.Svc'], SERVICES),
    pick(['*', '+', '+x'], ARGS),
    pick(['work', '@anyvm', '@tag:t', 'dom0', '@dispvm:dvm'], QUBES),
    pick(['work', '@anyvm', '@default', '@dispvm', '@adminvm', '*'], QUBES),
    pick(['allow', 'deny', 'ask'], ACTIONS),
    fc.array(pick(['target=work', 'notify=yes', 'user=root', 'default_target=x', 'autostart=no'], PARAMS), { maxLength: 3 }),
    fc.array(fc.constantFrom(...SEPS), { minLength: 10, maxLength: 10 }),
    fc.option(fc.string({ maxLength: 3 }), { nil: undefined, freq: 8 }),
    fc.boolean(),
  )
  .map(([s, a, src, tgt, act, params, seps, junk, dropEmpty]) => {
    const fields = [s, a, src, tgt, act, ...params].filter((f) => f !== '' || !dropEmpty);
    let out = fields.map((f, i) => f + (i < fields.length - 1 ? seps[i % seps.length] : '')).join('');
    if (junk !== undefined) out += junk;
    return out.trim();
  });

t.test('a line the quick check accepts is one the parser accepts, for the same service', async (t) => {
  let accepted = 0;
  fc.assert(
    fc.property(line, (l) => {
      const svc = plainRuleService(l);
      if (svc === null) return true;
      accepted++;
      const parsed = parsePolicyLine(l, { file: 'f', line: 1 });
      return parsed.errors.length === 0 && parsed.rule !== null && parsed.rule.service === svc;
    }),
    { numRuns: 4000 },
  );
  t.ok(accepted > 500, `the generator produces accepted lines (${accepted})`);
});

t.test('ordinary lines are recognised, unusual ones are left to the parser', async (t) => {
  t.equal(plainRuleService('qubes.Filecopy * @anyvm @anyvm ask default_target=work'), 'qubes.Filecopy');
  t.equal(plainRuleService('svc\t+x\twork\t@dispvm:dvm\tallow\ttarget=@dispvm notify=yes user=root'), 'svc');
  for (const l of [
    '* * @anyvm @anyvm deny', // every service's rule
    'svc * @anyvm @default allow', // needs target=
    'svc * @anyvm @anyvm allow target=*', // not a redirect
    'svc * @anyvm @anyvm deny target=x', // not a deny parameter
    'svc * @anyvm @anyvm allow notify=yes notify=no', // repeated
    'svc * @anyvm @anyvm allow notify=sure',
    'svc * @anyvm @anyvm allow x',
    'svc * work\u00a0@anyvm allow', // Python whitespace: the parser decides
    'svc * wörk @anyvm allow',
    'svc * @anyvm', // too few fields
    'svc x @anyvm @anyvm allow',
    'svc * @tag: @anyvm allow',
  ])
    t.equal(plainRuleService(l), null, l);
});

/** Rules as comparable plain data. */
function shape(r: ReturnType<typeof loadPolicy>['rules'][number]) {
  return [r.file, r.line, r.text, r.service, r.argument, r.action, r.source.text, r.target.text, r.redirect?.text ?? null];
}

function compareFocus(t: Tap.Test, load: (focus?: string) => ReturnType<typeof loadPolicy>, services: string[]) {
  const full = load();
  for (const service of services) {
    const focused = load(service);
    t.same(focused.errors.map((e) => e.describe()), full.errors.map((e) => e.describe()), `${service}: same errors`);
    const want = full.rules.filter((r) => r.service === null || r.service === service).map(shape);
    const got = focused.rules.filter((r) => r.service === null || r.service === service).map(shape);
    t.same(got, want, `${service}: same rules`);
  }
}

t.test('a focused load gives the full load\'s rules for that service, and its errors', async (t) => {
  const policies = fc.sample(fc.array(line, { minLength: 1, maxLength: 30 }), { numRuns: 150, seed: 42 });
  for (const lines of policies) {
    const text = lines.join('\n') + '\n';
    const fsrc = memoryFileSource({ '/p/50-a.policy': text, '/p/60-b.policy': 'svc * @anyvm @anyvm deny\n' });
    compareFocus(t, (focus) => loadPolicy({ paths: ['/p'], fs: fsrc, ...(focus ? { focus } : {}) }), ['svc', 'qubes.Filecopy', 'none']);
  }
});

t.test('a focused load long enough to make its one-match test: the full load\'s rules and errors', async (t) => {
  // past SKIPPABLE_AFTER lines the loader skips lines through skippableLine(); the first file is below it
  const lines = fc.sample(line, { numRuns: SKIPPABLE_AFTER + 500, seed: 7 });
  const head = lines.slice(0, 200).join('\n') + '\n';
  // and plenty of ordinary lines of other services (and some of the focus ones) among the odd ones
  const plain = Array.from({ length: SKIPPABLE_AFTER }, (_, i) =>
    [`other.Svc${i % 7}\t*\t@tag:t${i}\t@anyvm\tallow target=work`, `svc +a${i} work @dispvm:dvm ask default_target=@dispvm:dvm`, `# comment ${i}`, `qubes.Filecopy * work${i} @default allow target=dom0`][i % 4]!,
  );
  const tail = lines.slice(200).flatMap((l, i) => [l, plain[i % plain.length]!]).join('\n') + '\n# a comment\n\n  \t\nsvc * @anyvm @anyvm deny\n';
  const fsrc = memoryFileSource({ '/p/10-a.policy': head, '/p/50-b.policy': tail });
  const load = (focus?: string) => loadPolicy({ paths: ['/p'], fs: fsrc, ...(focus ? { focus } : {}) });
  compareFocus(t, load, ['svc', 'qubes.Filecopy', 'other.Svc', 'none']);
  const full = load();
  t.ok(full.errors.length > 100 && full.rules.length > 1000, `both valid and invalid lines are there (${full.rules.length} rules, ${full.errors.length} errors)`);
});

t.test('focused loads of the examples and the real-world trees match the full loads', async (t) => {
  const root = path.resolve('policy.d-examples');
  const trees: [string, string][] = [[root, path.join(root, 'legacy')]];
  const rw = path.resolve('../shared/realworld/trees');
  if (fs.existsSync(rw))
    for (const d of fs.readdirSync(rw)) trees.push([path.join(rw, d, 'policy.d'), path.join(rw, d, 'legacy')]);
  for (const [dir, legacy] of trees) {
    const full = loadPolicy({ paths: [dir], legacyPath: legacy });
    const services = [...new Set(full.rules.map((r) => r.service).filter((s): s is string => s !== null))];
    compareFocus(t, (focus) => loadPolicy({ paths: [dir], legacyPath: legacy, ...(focus ? { focus } : {}) }), services);
  }
});

t.test('indented rules of other services are skipped after stripping, own ones kept', async (t) => {
  const text = '  other.Svc * @anyvm @anyvm deny\n\tsvc * @anyvm @anyvm allow  \n \x0bother.Svc * @anyvm @anyvm allow bad=1\n';
  const fsrc = memoryFileSource({ '/p/50-a.policy': text });
  compareFocus(t, (focus) => loadPolicy({ paths: ['/p'], fs: fsrc, ...(focus ? { focus } : {}) }), ['svc', 'other.Svc']);
  const focused = loadPolicy({ paths: ['/p'], fs: fsrc, focus: 'svc' });
  t.same(focused.rules.map((r) => [r.service, r.line]), [['svc', 2]], 'only the focus service rule is built');
  t.equal(focused.errors.length, 1, 'the bad rule of another service is still reported');
});

t.test('a service file shared by many !include-service lines: same rules, errors and files read, focused or not', async (t) => {
  const includes = ['a.One', 'b.Two', 'c.Three', 'b.Two', 'd.Four']
    .map((s) => `!include-service ${s} * include/shared\n!include-service ${s} +arg include/bad\n!include-service ${s} * include/outer`)
    .join('\n');
  const fsrc = memoryFileSource({
    '/p/50-a.policy': includes + '\n',
    '/p/include/shared': '# allowed for every service named above\nwork @default allow target=dom0\n@anyvm @anyvm deny\n',
    '/p/include/bad': '@anyvm @anyvm allow bogus=1\n',
    '/p/include/outer': '!include include/shared\npersonal work ask\n',
  });
  const load = (focus?: string) => loadPolicy({ paths: ['/p'], fs: fsrc, ...(focus ? { focus } : {}) });
  compareFocus(t, load, ['a.One', 'b.Two', 'd.Four', 'e.None']);
  const full = load();
  t.equal(full.errors.length, 5, 'the bad file is reported for each of its five inclusions');
  for (const focus of ['a.One', 'b.Two', 'e.None']) t.same(load(focus).files, full.files, `${focus}: every inclusion still counted as a file read`);
  const focused = load('b.Two');
  const two = [
    ['b.Two', null, 'shared'],
    ['b.Two', null, 'shared'],
    ['b.Two', null, 'shared'],
    ['b.Two', null, 'shared'],
    ['b.Two', null, 'outer'],
  ];
  t.same(
    focused.rules.map((r) => [r.service, r.argument, r.file.split('/').pop()]),
    [
      // a.One comes first: the shared file is not known to be good yet
      ['a.One', null, 'shared'],
      ['a.One', null, 'shared'],
      ['a.One', null, 'outer'],
      ...two,
      // outer includes a file: parsed every time, its own include skipped
      ['c.Three', null, 'outer'],
      ...two,
      ['d.Four', null, 'outer'],
    ],
    'another service\'s rules are built only until their file is known to be good (and include nothing)',
  );
});

t.test('tokenPattern matches exactly the printable tokens parseToken accepts, in every context', async (t) => {
  const contexts: TokenContext[] = ['source', 'target', 'redirect', 'request'];
  const accepts = (text: string, context: TokenContext) => {
    try {
      parseToken(text, context);
      return true;
    } catch {
      return false;
    }
  };
  // the listed odd tokens, and printable words built from the characters that matter
  const word = fc.oneof(
    fc.constantFrom(...QUBES, 'dom0x', '@dispvm:@tag:', '@dispvm:@tag:@x', '@dispvm:*', '**', '*@', '@', '@@', '@type:x:y', 'uuid:x'),
    fc.stringMatching(/^[@*:a-z.$-]{1,10}$/),
    fc.tuple(fc.constantFrom('@tag:', '@type:', '@dispvm:', '@dispvm:@tag:', '@anyvm', '@default', '@adminvm', '@dispvm', '*', ''), fc.stringMatching(/^[@*:a-z!~]{0,4}$/)).map(([a, b]) => a + b),
  );
  for (const context of contexts) {
    const re = new RegExp(`^${tokenPattern(context)}$`);
    fc.assert(fc.property(word, (w) => re.test(w) === accepts(w, context)), { numRuns: 3000 });
    for (const w of QUBES) t.equal(re.test(w), accepts(w, context), `${context}: ${JSON.stringify(w)}`);
  }
  const noDefault = new RegExp(`^${tokenPattern('target', ['default'])}$`);
  t.notOk(noDefault.test('@default'), 'a kind can be left out');
  t.ok(noDefault.test('@dispvm'));
});

t.test('a line skippableLine lets a focused load skip is blank, a comment, or another service\'s valid rule', async (t) => {
  let skipped = 0;
  const focusArb = fc.constantFrom('svc', 'qubes.Filecopy', 'other.Svc', 'none', 'a+b');
  const padded = fc.tuple(line, fc.constantFrom('', ' ', '\t', ' \t'), fc.constantFrom('', ' ', '\t')).map(([l, a, b]) => a + l + b);
  fc.assert(
    fc.property(fc.oneof(padded, fc.constantFrom('', '   ', '#', ' # x', '\t#\u2028', '\x0b# x', 'x # y')), focusArb, (l, focus) => {
      if (!skippableLine(focus).test(l)) return true;
      skipped++;
      const stripped = pyStrip(l).text;
      if (stripped === '' || stripped.startsWith('#')) return true;
      const svc = plainRuleService(stripped);
      return svc !== null && svc !== focus;
    }),
    { numRuns: 6000 },
  );
  t.ok(skipped > 1000, `the generator produces skipped lines (${skipped})`);
  const skip = skippableLine('qubes.Filecopy');
  for (const l of ['', ' \t ', '# comment', '  #', 'svc * @anyvm @anyvm deny', 'svc\t+x\twork\t@dispvm:dvm\tallow\ttarget=@dispvm', ' svc * @anyvm @default ask default_target=work ', 'svc * @anyvm @default allow target=dom0', 'qubes.Filecopyx * @anyvm @anyvm deny'])
    t.ok(skip.test(l), `skipped: ${JSON.stringify(l)}`);
  for (const l of [
    'qubes.Filecopy * @anyvm @anyvm deny', // the focus service: built
    'qubes.Filecopy\t* @anyvm @anyvm deny',
    '* * @anyvm @anyvm deny', // every service's rule
    'svc * @anyvm @default allow', // needs target=
    'svc * @anyvm @default allow notify=yes',
    'svc * @anyvm @anyvm allow target=*', // not a redirect
    'svc * @anyvm @anyvm allow target=@dispvm:@tag:x',
    'svc * @anyvm @anyvm deny target=x', // not a deny parameter
    'svc * @anyvm @anyvm ask target=x notify=no', // two parameters: left to the quick check
    'svc * @dispvm @anyvm allow', // not a source
    'svc * @tag: @anyvm allow',
    'svc * @anyvm @anyvm allow notify=sure',
    'svc * work\u00a0@anyvm allow', // Python whitespace: the parser decides
    '\x0bsvc * @anyvm @anyvm deny',
    '!include x',
    'svc * @anyvm @anyvm allowed',
  ])
    t.notOk(skip.test(l), `not skipped: ${JSON.stringify(l)}`);
});

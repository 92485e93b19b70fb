/**
 * `qrexec-policy list` (issue 9), in process through the umbrella CLI:
 * what it enumerates (every qube, @default, @dispvm, each @dispvm:X, dom0;
 * every named SERVICE[+ARG], any other argument, any other service), the
 * glob and action filters, the text layout and colour, --explain, JSON (a
 * golden file for policy.d-examples), fail-closed errors, a reader that goes
 * away; and that every row says what `eval` says for the same request.
 * Real processes (the bundle) are in process.test.ts.
 */
import t from 'tap';
import { matchGolden } from '../helpers/golden.js';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { umbrellaMain } from '../../src/cli/umbrella.js';
import { runBatch } from '../../src/eval/batch.js';
import type { ListIo } from '../../src/list/cli.js';
import type { RowJson } from '../../src/list/json.js';
import { ANY_OTHER_SERVICE, legacyMentions, serviceEntries, targetsOf } from '../../src/list/axes.js';
import { globFilter, parseActions } from '../../src/list/select.js';
import { ASK_SHOWN, detail } from '../../src/list/text.js';
import { BufferedOut, streamSink, type Watched } from '../../src/list/output.js';
import { systemInfoFromJson } from '../../src/policy/system-info.js';
import type { Decision } from '../../src/policy/decision.js';
import { captureIo, paths, SYSTEM_INFO, tree } from '../cli/fixtures/cli.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const EX = path.join(ROOT, 'policy.d-examples');
const GOLDEN = path.join(ROOT, 'test/list/examples.golden.json');
const EX_ARGS = ['--path', EX, '--legacy-path', path.join(EX, 'legacy'), '--system-info', path.join(EX, 'system-info.json')];

const LAYOUT = [
  'svc.A +x work sys-relay allow autostart=no', // 1
  'svc.A * work @anyvm ask', // 2
  'svc.A * @anyvm @anyvm deny', // 3
  '',
].join('\n');

const dir = t.testdir({
  ...tree(),
  'layout.d': { '10-layout.policy': LAYOUT },
  // a later file's rule that an earlier file shadows (line 1) and one it does not (line 2)
  'shadow.d': {
    '10-first.policy': 'qubes.Svc * work @anyvm ask\n',
    '20-later.policy': 'qubes.Svc * work vault allow\nqubes.Svc * personal vault allow\n',
  },
  'legacy-bad': { 'qubes.Bad': '# broken\nwork vault frobnicate\n', 'qubes.Good': 'work vault allow\n' },
  // the placeholder names are taken: list must pick others
  'names.d': { '10-names.policy': `${ANY_OTHER_SERVICE} * work vault allow\nqubes.E + work vault allow\nqubes.E +other work personal allow\nqubes.E * @anyvm @anyvm deny\n` },
});
const p = paths(dir);
const std = ['--path', p.policy, '--system-info', p.si];

/** A stream that is always ready and never closes. */
function quietStream(): Watched {
  return Object.assign(new EventEmitter(), { writableNeedDrain: false });
}

interface ListRun {
  status: number;
  out: string;
  err: string;
}

/**
 * `qrexec-policy list ARGS`. Most tests look at every row: `--action all` is
 * added unless the test gives --action or asks for list's own default.
 */
async function listCli(args: string[], opts: { env?: NodeJS.ProcessEnv; isTTY?: boolean; stream?: Watched; defaultActions?: boolean } = {}): Promise<ListRun> {
  const c = captureIo(opts.env ?? {});
  const io: ListIo = { ...c.io, stream: opts.stream ?? quietStream() };
  if (opts.isTTY !== undefined) io.isTTY = opts.isTTY;
  const every = opts.defaultActions || args.includes('--action') ? [] : ['--action', 'all'];
  const status = await umbrellaMain(['list', ...every, ...args], io);
  return { status, out: c.out, err: c.err };
}

function jsonRows(out: string): RowJson[] {
  const doc = JSON.parse(out) as { version: number; rows: RowJson[] };
  if (doc.version !== 1) throw new Error(`version ${doc.version}`);
  return doc.rows;
}

async function listJson(args: string[]): Promise<RowJson[]> {
  const r = await listCli([...args, '--format', 'json']);
  if (r.status !== 0 || r.err !== '') throw new Error(`list failed: ${r.status} ${r.err}`);
  return jsonRows(r.out);
}

const QUBES = ['default-dvm', 'dom0', 'personal', 'remote1', 'sys-relay', 'vault', 'work'];
const TARGETS = ['@default', '@dispvm', '@dispvm:default-dvm', 'default-dvm', 'dom0', 'personal', 'remote1', 'sys-relay', 'vault', 'work'];

// ------------------------------------------------------------------ enumeration

t.test('rows: every qube as source, every target, every named service and argument, then any other', async (t) => {
  const rows = await listJson(std);
  const distinct = (f: (r: RowJson) => string) => [...new Set(rows.map(f))];
  t.same(distinct((r) => r.source), QUBES, 'every qube calls, in byte order');
  t.same(distinct((r) => r.target), TARGETS, 'every qube, dom0, @default, @dispvm and each @dispvm:X');
  t.same(
    distinct((r) => `${r.service}|${r.argument}|${r.request}`),
    [
      'qubes.AskVault|null|qubes.AskVault',
      'qubes.Filecopy|null|qubes.Filecopy',
      'qubes.GetDate|null|qubes.GetDate',
      'qubes.Gpg|null|qubes.Gpg',
      'qubes.Halt|null|qubes.Halt',
      'qubes.Notes|+todo|qubes.Notes+todo',
      'qubes.Notes|null|qubes.Notes',
      'qubes.OpenURL|null|qubes.OpenURL',
      'qubes.Relayed|null|qubes.Relayed',
      'qubes.ToRemote|null|qubes.ToRemote',
      'qubes.VMShell|null|qubes.VMShell',
      `null|null|${ANY_OTHER_SERVICE}`,
    ],
  );
  t.equal(rows.length, QUBES.length * TARGETS.length * 12, 'the full cross product, nothing twice');
  // grouped by source, then service, then target
  const keys = rows.map((r) => `${r.source} ${r.request} ${r.target}`);
  t.equal(new Set(keys).size, keys.length);
});

t.test('@dispvm and @default rows', async (t) => {
  const rows = await listJson([...std, '--source', 'work']);
  const row = (target: string, request: string) => rows.find((r) => r.target === target && r.request === request)!.decision;
  t.match(row('@dispvm', 'qubes.OpenURL'), { result: 'allow', requested_target: '@dispvm', target: '@dispvm:default-dvm', rule: { line: 12 } });
  t.match(row('@dispvm', 'qubes.Filecopy'), { result: 'allow', target: '@dispvm:default-dvm', rule: { line: 5 } }, '@dispvm:X in a rule matches @dispvm');
  t.match(row('@dispvm:default-dvm', 'qubes.Filecopy'), { result: 'allow', target: '@dispvm:default-dvm', rule: { line: 5 } });
  t.match(row('@default', 'qubes.Filecopy'), {
    result: 'ask',
    requested_target: '@default',
    targets: ['@dispvm:default-dvm', 'personal'],
    default_target: 'personal',
    rule: { line: 3 },
  });
  t.match(row('@default', 'qubes.Gpg'), { result: 'deny', rule: null, reason: 'no matching rule found' });
  t.match(row('dom0', 'qubes.GetDate'), { result: 'allow', target: 'dom0', rule: { line: 8 } });
});

t.test('no dom0 in the system info: @adminvm stands for it', async (t) => {
  const si = systemInfoFromJson({ domains: { work: { type: 'AppVM' }, dvm: { type: 'AppVM', template_for_dispvms: true } } });
  t.same(targetsOf(si), ['@adminvm', '@default', '@dispvm', '@dispvm:dvm', 'dvm', 'work']);
  const withDom0 = systemInfoFromJson({ domains: { dom0: { type: 'AdminVM' } } });
  t.same(targetsOf(withDom0), ['@default', '@dispvm', 'dom0']);
});

t.test('service entries: placeholders never collide with names the policy uses', async (t) => {
  const rows = await listJson(['--path', path.join(dir, 'names.d'), '--system-info', p.si, '--source', 'work', '--target', 'vault']);
  t.same(
    rows.map((r) => [r.service, r.argument, r.request, r.decision.result, r.decision.rule?.line ?? null]),
    [
      [ANY_OTHER_SERVICE, null, ANY_OTHER_SERVICE, 'allow', 1],
      ['qubes.E', '+', 'qubes.E+', 'allow', 2],
      ['qubes.E', '+other', 'qubes.E+other', 'deny', 4],
      // `qubes.E` alone is argument `+`, which a rule names: another stand-in argument
      ['qubes.E', null, 'qubes.E+other1', 'deny', 4],
      [null, null, ANY_OTHER_SERVICE + '1', 'deny', null],
    ],
  );
  // --legacy: file names are what the policy mentions
  const entries = serviceEntries(legacyMentions([
    { service: 'a.B', argument: '+x', file: '/l/a.B+x' },
    { service: 'a.B', argument: null, file: '/l/a.B' },
    { service: 'c.D', argument: null, file: '/l/c.D' },
  ]));
  t.same(
    entries.map((e) => [e.name, e.label, e.request]),
    [
      ['a.B+x', 'a.B+x', 'a.B+x'],
      ['a.B', 'a.B (any other argument)', 'a.B'],
      ['c.D', 'c.D', 'c.D'],
      ['*', '* (any other service)', ANY_OTHER_SERVICE],
    ],
  );
});

// ------------------------------------------------------------------ filters

t.test('glob filters: sources, targets, services (minimatch), repeatable, combined', async (t) => {
  let rows = await listJson([...std, '--source', 'work', '--target', 'sys-*', '--service', 'qubes.G*']);
  t.same([...new Set(rows.map((r) => `${r.source} ${r.target} ${r.request}`))], [
    'work sys-relay qubes.GetDate',
    'work sys-relay qubes.Gpg',
  ]);

  rows = await listJson([...std, '--source', 'work', '--source', 'v*', '--target', '@dispvm*', '--service', 'qubes.Notes*']);
  t.same([...new Set(rows.map((r) => r.source))], ['vault', 'work']);
  t.same([...new Set(rows.map((r) => r.target))], ['@dispvm', '@dispvm:default-dvm']);
  t.same([...new Set(rows.map((r) => r.request))], ['qubes.Notes+todo', 'qubes.Notes'], 'SERVICE+ARG and SERVICE');

  rows = await listJson([...std, '--service', 'qubes.Notes+*', '--source', 'work', '--target', 'personal']);
  t.same(rows.map((r) => r.request), ['qubes.Notes+todo'], 'an argument glob matches named arguments only');
  rows = await listJson([...std, '--service', '\\*', '--source', 'work', '--target', 'personal']);
  t.same(rows.map((r) => [r.service, r.request]), [[null, ANY_OTHER_SERVICE]], "'*' names any other service");
  rows = await listJson([...std, '--service', '{qubes.Gpg,qubes.Halt}', '--source', 'work', '--target', 'vault']);
  t.same(rows.map((r) => r.request), ['qubes.Gpg', 'qubes.Halt'], 'braces');
  rows = await listJson([...std, '--source', '!*o*', '--target', 'vault', '--service', 'qubes.Gpg']);
  t.same(rows.map((r) => r.source), ['default-dvm', 'sys-relay', 'vault'], 'negation');
});

t.test('no match: an empty result and exit 0 (text says so on stderr, JSON is an empty document)', async (t) => {
  for (const sel of [['--source', 'nobody*'], ['--target', 'nothing'], ['--service', 'no.Such*'], ['--source', 'work', '--service', 'qubes.Halt', '--action', 'ask']]) {
    let r = await listCli([...std, ...sel]);
    t.equal(r.status, 0, sel.join(' '));
    t.equal(r.out, '');
    t.equal(r.err, 'qrexec-policy list: nothing matches the selection\n');
    r = await listCli([...std, ...sel, '--format', 'json']);
    t.equal(r.status, 0);
    t.equal(r.out, '{"version":1,"rows":[]}\n');
    t.equal(r.err, '');
  }
});

t.test('without --action: the calls that may happen (allow and ask), the question --source and --target ask', async (t) => {
  const all = await listJson([...std, '--source', 'work']);
  const r = await listCli([...std, '--source', 'work', '--format', 'json'], { defaultActions: true });
  const rows = jsonRows(r.out);
  t.ok(rows.length > 0);
  t.same(rows, all.filter((row) => row.decision.result !== 'deny'), 'exactly the allow and ask rows, in order');
  t.ok(all.some((row) => row.decision.result === 'deny'), 'there were denials to leave out');
});

t.test('--target: a row whose call target= sends elsewhere is marked', async (t) => {
  const dir2 = t.testdir({ 'p.d': { '30-r.policy': 'svc * work vault allow target=personal\nsvc * work personal ask target=dom0\nsvc * work sys-relay allow\n' } });
  const r = await listCli(['--path', path.join(dir2, 'p.d'), '--system-info', p.si, '--source', 'work', '--service', 'svc', '--color=false'], { defaultActions: true });
  t.equal(r.status, 0);
  t.match(r.out, /^ {4}vault +allow +\S+:1 +to personal \(redirected by target=: never reaches vault\)$/m);
  t.match(r.out, /^ {4}personal +ask +\S+:2 +choose from dom0 \(redirected by target=: never reaches personal\)$/m);
  t.match(r.out, /^ {4}sys-relay +allow +\S+:3 +to sys-relay$/m, 'a call that goes where it was sent is not marked');
  t.notMatch(r.out, /^ {4}dom0 +ask.*redirected/m, 'the target= itself is not elsewhere');
});

t.test('--action: every filter keeps exactly the rows with those results', async (t) => {
  const all = await listJson(std);
  const count = (a: string) => all.filter((r) => a.split(',').includes(r.decision.result)).length;
  for (const a of ['allow', 'ask', 'deny', 'allow,ask', 'ask,deny', 'allow,deny', 'allow,ask,deny']) {
    const rows = await listJson([...std, '--action', a]);
    t.ok(rows.length > 0, `${a}: some rows`);
    t.equal(rows.length, count(a), `${a}: as many rows as the unfiltered list has`);
    t.ok(rows.every((r) => a.split(',').includes(r.decision.result)), `${a}: only those`);
  }
  const rows = await listJson([...std, '--action', 'allow', '--action', ' ask ']);
  t.equal(rows.length, count('allow,ask'), 'repeatable, blanks ignored');
});

t.test('bad option values: one line, exit 2', async (t) => {
  for (const [args, msg] of [
    [['--action', 'permit'], 'qrexec-policy list: invalid --action value "permit" (allow, ask, deny or all)\nRun \'qrexec-policy list --help\' for usage.\n'],
    [['--action', 'allow,'], 'qrexec-policy list: invalid --action value "" (allow, ask, deny or all)\nRun \'qrexec-policy list --help\' for usage.\n'],
    [['--source', 'x'.repeat(70000)], `qrexec-policy list: invalid --source glob "${'x'.repeat(40)}...": pattern is too long\nRun 'qrexec-policy list --help' for usage.\n`],
    [['--target', 'y'.repeat(70000)], `qrexec-policy list: invalid --target glob "${'y'.repeat(40)}...": pattern is too long\nRun 'qrexec-policy list --help' for usage.\n`],
  ] as const) {
    const r = await listCli([...std, ...args]);
    t.equal(r.status, 2, args[0]);
    t.equal(r.err, msg);
    t.equal(r.out, '');
  }
  t.throws(() => globFilter('--service', ['z'.repeat(70000)]), { name: 'UsageError' });
  t.throws(() => globFilter('--service', ['z'.repeat(30), 'z'.repeat(65537)]), { message: /pattern is too long/ });
  t.same([...parseActions(undefined)!], ['allow', 'ask'], 'by default the calls that may happen');
  t.same([...parseActions([])!], ['allow', 'ask']);
  t.equal(parseActions(['all']), null);
  t.equal(parseActions(['deny,all']), null, 'all wins');
  t.ok(globFilter('--source', undefined)('anything'));
  t.ok(globFilter('--source', ['.*'])('.hidden'), 'a leading dot is an ordinary character');
  // yargs checks --format
  const r = await listCli([...std, '--format', 'yaml']);
  t.equal(r.status, 2);
  t.match(r.err, /Invalid values:[\s\S]*format/);
  const u = await listCli([...std, 'stray']);
  t.equal(u.status, 2);
  t.equal(u.err, `qrexec-policy list: unexpected argument "stray"\nRun 'qrexec-policy list --help' for usage.\n`);
});

// ------------------------------------------------------------------ shadowing

t.test("a later file's shadowed rule never decides a row", async (t) => {
  const shadow = path.join(dir, 'shadow.d');
  const rows = await listJson(['--path', shadow, '--system-info', p.si]);
  const later = path.join(shadow, '20-later.policy');
  const deciding = rows.filter((r) => r.decision.rule?.file === later).map((r) => r.decision.rule!.line);
  t.notOk(deciding.includes(1), '20-later.policy:1 (work -> vault) is shadowed by 10-first.policy:1');
  t.ok(deciding.includes(2), '20-later.policy:2 (personal -> vault) does decide');
  const wv = rows.find((r) => r.source === 'work' && r.target === 'vault' && r.service === 'qubes.Svc')!;
  t.match(wv.decision, { result: 'ask', rule: { file: path.join(shadow, '10-first.policy'), line: 1 } });
  const pv = rows.find((r) => r.source === 'personal' && r.target === 'vault' && r.service === 'qubes.Svc')!;
  t.match(pv.decision, { result: 'allow', target: 'vault', rule: { file: later, line: 2 } });
});

// ------------------------------------------------------------------ text output

const layout = ['--path', path.join(dir, 'layout.d'), '--system-info', p.si];
const LAYOUT_FILE = path.join(dir, 'layout.d', '10-layout.policy');
/** The rule column of a row no rule decided, as wide as `LAYOUT_FILE:N`, then the gap. */
const NONE = '-'.padEnd(LAYOUT_FILE.length + 2) + '  ';

t.test('text: grouped by source and service, aligned columns, no trailing blanks', async (t) => {
  const r = await listCli([...layout, '--source', 'work', '--target', '{@default,dom0,personal,sys-relay,vault}']);
  t.equal(r.status, 0);
  t.equal(r.err, '');
  const L = LAYOUT_FILE;
  const ask = 'choose from @dispvm:default-dvm, default-dvm, personal, remote1, sys-relay, vault';
  t.equal(
    r.out,
    [
      'work',
      '  svc.A+x',
      `    @default   ask    ${L}:2  ${ask}`,
      `    dom0       deny   ${NONE}no matching rule found`,
      `    personal   ask    ${L}:2  ${ask}`,
      `    sys-relay  allow  ${L}:1  to sys-relay autostart=no`,
      `    vault      ask    ${L}:2  ${ask}`,
      '  svc.A (any other argument)',
      `    @default   ask    ${L}:2  ${ask}`,
      `    dom0       deny   ${NONE}no matching rule found`,
      `    personal   ask    ${L}:2  ${ask}`,
      `    sys-relay  ask    ${L}:2  ${ask}`,
      `    vault      ask    ${L}:2  ${ask}`,
      '  * (any other service)',
      `    @default   deny   ${NONE}no matching rule found`,
      `    dom0       deny   ${NONE}no matching rule found`,
      `    personal   deny   ${NONE}no matching rule found`,
      `    sys-relay  deny   ${NONE}no matching rule found`,
      `    vault      deny   ${NONE}no matching rule found`,
      '',
    ].join('\n'),
  );
  const two = await listCli([...layout, '--source', '{personal,work}', '--target', 'vault', '--service', 'svc.A']);
  t.equal(
    two.out,
    ['personal', '  svc.A (any other argument)', `    vault  deny   ${L}:3`, '', 'work', '  svc.A (any other argument)', `    vault  ask    ${L}:2  choose from @dispvm:default-dvm, default-dvm, personal, remote1, sys-relay, vault`, ''].join('\n'),
    'a blank line between sources; a deny rule needs no detail',
  );
  t.notMatch(two.out, / \n/, 'no trailing blanks');
});

t.test('text: what each decision adds, long ask lists shortened', async (t) => {
  const base = { service: 's', argument: '+', source: 'work', requestedTarget: 'vault', rule: null, warnings: [], requestedSource: null };
  const allow = { ...base, result: 'allow', destination: { kind: 'dom0' }, target: 'vault' } as const;
  t.equal(detail({ ...allow, user: null, autostart: true, notify: false }), 'to vault');
  t.equal(detail({ ...allow, user: 'root', autostart: false, notify: true }), 'to vault user=root autostart=no notify=yes');
  const many = Array.from({ length: ASK_SHOWN + 3 }, (_, i) => `q${i}`);
  const ask = { ...base, result: 'ask', user: null, autostart: true, notify: false } as const;
  t.equal(detail({ ...ask, targets: many, defaultTarget: 'q1' }), 'choose from q0, q1, q2, q3, q4, ... 3 more (default q1)');
  t.equal(detail({ ...ask, targets: many.slice(0, ASK_SHOWN + 1), defaultTarget: null }), 'choose from q0, q1, q2, q3, q4, q5', 'one more is named, not counted');
  const deny = { ...base, result: 'deny', notify: true } as const;
  t.equal(detail({ ...deny, kind: 'rule', reason: 'denied by policy x:1' } as Decision), '');
  t.equal(detail({ ...deny, kind: 'loopback', reason: 'loopback qrexec connection not supported' } as Decision), 'loopback qrexec connection not supported');
});

t.test('text: a !compat-4.0 implicit deny is located by its legacy file', async (t) => {
  const r = await listCli(['--path', p.compat, '--legacy-path', p.legacy, '--system-info', p.si, '--source', 'work', '--target', 'personal', '--service', 'qubes.Bar*']);
  t.equal(r.status, 0);
  t.equal(
    r.out,
    [
      'work',
      '  qubes.Bar+x',
      `    personal  deny   ${p.legacy}/qubes.Bar+x (implicit deny)`,
      '  qubes.Bar (any other argument)',
      `    personal  deny   -${' '.repeat(`${p.legacy}/qubes.Bar+x (implicit deny)`.length + 1)}no matching rule found`,
      '',
    ].join('\n'),
  );
});

t.test('colour: only on a terminal, never with --no-color or NO_COLOR', async (t) => {
  const args = [...layout, '--source', 'work', '--target', '{dom0,sys-relay,vault}', '--service', 'svc.A+x'];
  const r = await listCli(args, { isTTY: true });
  t.equal(r.status, 0);
  t.match(r.out, /^\x1b\[1mwork\x1b\[0m\n  \x1b\[36msvc\.A\+x\x1b\[0m\n/);
  t.match(r.out, /\x1b\[31mdeny \x1b\[0m/);
  t.match(r.out, /\x1b\[32mallow\x1b\[0m/);
  t.match(r.out, /\x1b\[33mask  \x1b\[0m/);
  // the same columns as without colour
  const plain = await listCli(args, { isTTY: false });
  t.equal(r.out.replace(/\x1b\[[0-9]+m/g, ''), plain.out);
  t.notMatch(plain.out, /\x1b/);
  for (const [extra, env] of [
    [['--no-color'], {}],
    [['--color=false'], {}],
    [[], { NO_COLOR: '1' }],
  ] as const) {
    const n = await listCli([...args, ...extra], { isTTY: true, env });
    t.equal(n.out, plain.out, `${extra.join(' ')} ${JSON.stringify(env)}`);
  }
  // an empty NO_COLOR does not count (no-color.org)
  t.match((await listCli(args, { isTTY: true, env: { NO_COLOR: '' } })).out, /\x1b\[/);
  // without being told, the process's own stdout decides (a pipe under tap)
  const c = captureIo({});
  await umbrellaMain(['list', '--action', 'all', ...args], { ...c.io, stream: quietStream() } as ListIo);
  t.equal(c.out, process.stdout.isTTY ? r.out : plain.out);
  // JSON is never coloured
  const j = await listCli([...args, '--format', 'json'], { isTTY: true });
  t.notMatch(j.out, /\x1b/);
});

// ------------------------------------------------------------------ --explain

t.test('--explain: the rules passed over before the deciding one, with the column that failed', async (t) => {
  const args = [...layout, '--source', 'work', '--target', '{sys-relay,dom0}', '--service', 'svc.A'];
  const r = await listCli([...args, '--explain']);
  const L = LAYOUT_FILE;
  t.equal(
    r.out,
    [
      'work',
      '  svc.A (any other argument)',
      `    dom0       deny   ${NONE}no matching rule found`,
      `        passed over ${L}:1: svc.A +x work sys-relay allow autostart=no`,
      '          argument: +x is not +',
      `        passed over ${L}:2: svc.A * work @anyvm ask`,
      '          target: @anyvm never matches dom0 (dom0)',
      `        passed over ${L}:3: svc.A * @anyvm @anyvm deny`,
      '          target: @anyvm never matches dom0 (dom0)',
      `    sys-relay  ask    ${L}:2  choose from @dispvm:default-dvm, default-dvm, personal, remote1, sys-relay, vault`,
      `        passed over ${L}:1: svc.A +x work sys-relay allow autostart=no`,
      '          argument: +x is not +',
      '',
    ].join('\n'),
  );
  const rows = await listJson([...args, '--explain']);
  t.same(rows[1]!.passed_over, [{ file: L, line: 1, rule: 'svc.A +x work sys-relay allow autostart=no', reason: 'argument: +x is not +' }]);
  const first = await listJson([...layout, '--source', 'work', '--target', 'sys-relay', '--service', 'svc.A+x', '--explain']);
  t.same(first[0]!.passed_over, [], 'decided by the first rule: nothing passed over');
  const plain = await listJson(args);
  t.notOk('passed_over' in plain[0]!, 'only with --explain');
  t.same(plain.map((x) => x.decision), rows.map((x) => x.decision), 'the same decisions');
});

// ------------------------------------------------------------------ policy sources and errors

t.test('--legacy: the R4.0 files are what the policy mentions', async (t) => {
  const rows = await listJson(['--legacy', '--legacy-path', p.legacy, '--system-info', p.si, '--source', 'work', '--target', 'vault']);
  t.same(
    rows.map((r) => [r.request, r.decision.result, r.decision.rule?.file ?? null]),
    [
      ['qubes.Bar+x', 'allow', `${p.legacy}/qubes.Bar+x`],
      ['qubes.Bar', 'deny', null],
      ['qubes.Foo', 'allow', `${p.legacy}/qubes.Foo`],
      [ANY_OTHER_SERVICE, 'deny', null],
    ],
  );
  t.match(rows[1]!.decision, { reason: 'policy not found for qubes.Bar+' });
});

t.test('fail closed: an unusable policy or system info lists nothing, one line; exit 1 (does not load) or 4 (could not decide)', async (t) => {
  const cases: Array<[string[], number, RegExp]> = [
    [['--path', p.bad, '--system-info', p.si], 1, /^qrexec-policy list: policy failed to load: .*20-bad\.policy:2: /],
    [['--path', p.policy, '--system-info', p.siNotJson], 4, /^qrexec-policy list: could not decide: system info .*si-notjson\.json: not valid JSON/],
    [['--path', p.policy, '--system-info', p.missing], 4, /^qrexec-policy list: could not decide: cannot read system info .*no-such-file\.json: does not exist/],
    [['--path', path.join(dir, 'nowhere'), '--system-info', p.si], 4, /^qrexec-policy list: could not decide: .*nowhere: cannot read the policy directory: does not exist/],
    [['--legacy', '--legacy-path', path.join(dir, 'nowhere'), '--system-info', p.si], 4, /^qrexec-policy list: could not decide: .*nowhere: the legacy policy directory does not exist/],
    [['--legacy', '--legacy-path', path.join(dir, 'legacy-bad'), '--system-info', p.si], 1, /^qrexec-policy list: policy failed to load: .*qubes\.Bad:2: /],
  ];
  for (const [args, status, re] of cases) {
    for (const format of ['text', 'json']) {
      const r = await listCli([...args, '--format', format]);
      t.equal(r.status, status, `${args.join(' ')} ${format}`);
      t.equal(r.out, '');
      t.match(r.err, re);
      t.equal(r.err.split('\n').length, 2, 'one line');
    }
  }
  // --legacy reads per service: a broken file for a service not selected does not matter
  const r = await listCli(['--legacy', '--legacy-path', path.join(dir, 'legacy-bad'), '--system-info', p.si, '--service', 'qubes.Good', '--format', 'json']);
  t.equal(r.status, 0);
  t.ok(jsonRows(r.out).length > 0);
  // the default legacy directory, as every command
  const d = await listCli(['--legacy', '--system-info', p.si, '--format', 'json']);
  if (fs.existsSync('/etc/qubes-rpc/policy')) t.equal(d.status, 0, 'a Qubes dom0: its R4.0 directory');
  else {
    t.same([d.status, d.out], [4, '']);
    t.equal(d.err, 'qrexec-policy list: could not decide: /etc/qubes-rpc/policy: the legacy policy directory does not exist\n');
  }
  // system info from the environment, as every command
  const e = await listCli(['--path', p.policy, '--source', 'work', '--target', 'vault', '--service', 'qubes.Gpg', '--format', 'json'], { env: { QREXEC_POLICY_SYSTEM_INFO: p.si } });
  t.equal(jsonRows(e.out)[0]!.decision.result, 'allow');
});

// ------------------------------------------------------------------ output stream

t.test('a reader that goes away stops the listing quietly (exit 1); a slow one is waited for', async (t) => {
  // EPIPE on the first flush: nothing more is computed or written
  const gone = Object.assign(new EventEmitter(), { writableNeedDrain: false });
  let writes = 0;
  const c = captureIo({});
  const io: ListIo = {
    ...c.io,
    stream: gone,
    out: (s) => {
      c.io.out(s);
      if (++writes === 1) gone.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    },
  };
  const status = await umbrellaMain(['list', ...EX_ARGS], io);
  t.equal(status, 1);
  t.equal(writes, 1, 'stopped after the first block');
  t.equal(c.err, '', 'no message: the reader left on purpose');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(gone.listenerCount('error'), 0, 'stops listening a tick later');

  // a full pipe: wait for 'drain' before going on
  const slow = Object.assign(new EventEmitter(), { writableNeedDrain: true });
  const sink = streamSink(slow, () => {});
  let drained = false;
  const waiting = sink.drain().then(() => (drained = true));
  await new Promise((resolve) => setImmediate(resolve));
  t.notOk(drained, 'waits');
  slow.emit('drain');
  await waiting;
  t.ok(drained);
  t.equal(slow.listenerCount('drain'), 0);
  // an error while waiting ends the wait too
  const broken = sink.drain();
  slow.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
  await broken;
  t.ok(sink.closed());
  await sink.drain();
  const out = new BufferedOut(sink);
  out.write('x');
  await t.rejects(out.flush(), { message: 'output closed' });
  sink.release();

  // any other stream error is not swallowed
  const odd = Object.assign(new EventEmitter(), { writableNeedDrain: false });
  const s2 = streamSink(odd, () => {});
  t.throws(() => odd.emit('error', Object.assign(new Error('write EIO'), { code: 'EIO' })), { message: 'write EIO' });
  t.notOk(s2.closed());
  s2.release();

  // the default stream is the process's stdout
  const d = captureIo({});
  const st = await umbrellaMain(['list', ...std, '--source', 'work', '--target', 'vault', '--service', 'qubes.Gpg'], d.io);
  t.equal(st, 0);
  t.match(d.out, /allow/);
});

t.test('an unexpected failure while writing is not swallowed (the process wrapper reports it)', async (t) => {
  const c = captureIo({});
  const io: ListIo = {
    ...c.io,
    stream: quietStream(),
    out: () => {
      throw new Error('disk on fire');
    },
  };
  await t.rejects(umbrellaMain(['list', ...std], io), { message: 'disk on fire' });
});

t.test('large output is written in large chunks', async (t) => {
  const chunks: number[] = [];
  const c = captureIo({});
  const io: ListIo = { ...c.io, stream: quietStream(), out: (s) => void chunks.push(s.length) };
  t.equal(await umbrellaMain(['list', ...EX_ARGS, '--format', 'json'], io), 0);
  t.ok(chunks.length > 4 && chunks.slice(0, -1).every((n) => n >= 1 << 16), `${chunks.length} chunks of 64 KiB or more`);
});

// ------------------------------------------------------------------ policy.d-examples

t.test('policy.d-examples: JSON golden output, and every row is what eval answers', async (t) => {
  const r = await listCli([...EX_ARGS, '--format', 'json']);
  t.equal(r.status, 0);
  t.equal(r.err, '');
  // paths relative to the repository, so the golden file holds wherever it is checked out
  const out = r.out.split(ROOT + '/').join('');
  matchGolden(t, GOLDEN, out);
  t.match(out, /^\{"version":1,"rows":\[\n\{.*\},\n/);
  t.ok(out.endsWith('}\n]}\n'));

  const rows = jsonRows(r.out);
  t.ok(rows.length > 4000, `${rows.length} rows`);
  for (const result of ['allow', 'ask', 'deny']) t.ok(rows.some((x) => x.decision.result === result), `some ${result}`);

  // eval's own front end, one request per row: `eval --json --batch`
  const batch = path.join(dir, 'batch.jsonl');
  fs.writeFileSync(batch, rows.map((x) => JSON.stringify({ source: x.source, target: x.target, service: x.request })).join('\n') + '\n');
  const c = captureIo({});
  const status = await runBatch({ batch, path: [EX], legacyPath: path.join(EX, 'legacy'), systemInfo: path.join(EX, 'system-info.json'), json: true }, c.io);
  t.equal(status, 0);
  const answers = c.out.trimEnd().split('\n');
  t.equal(answers.length, rows.length);
  const differ = rows.filter((x, i) => JSON.stringify(x.decision) !== answers[i]);
  t.same(differ.slice(0, 3), [], 'every decision equals eval --json for the same request');

  // the text output prints the same results and rules, row for row
  const text = await listCli(EX_ARGS);
  const lines = text.out.split('\n').filter((l) => l.startsWith('    '));
  t.equal(lines.length, rows.length);
  const mismatch = lines.filter((l, i) => {
    const [target, result, where] = l.trim().split(/\s+/);
    const d = rows[i]!.decision;
    const loc = d.rule === null ? '-' : d.rule.line === null ? d.rule.file : `${d.rule.file}:${d.rule.line}`;
    return target !== rows[i]!.target || result !== d.result || where !== loc;
  });
  t.same(mismatch.slice(0, 3), [], 'text rows agree with the JSON rows');
});

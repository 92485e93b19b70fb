/**
 * `qrexec-policy diff` (issue 16): seeded policy pairs whose changed
 * requests are known, checked both by hand and against the oracle that
 * evaluates every request of the space (oracle.ts); the kinds of change and
 * the new-access gate; the text and JSON output; the command through the
 * umbrella's real argument parser, its exit codes and fail-closed errors;
 * and generated policy pairs against the oracle (the shortcuts compare.ts
 * takes must never hide a change). Real trees: realworld.test.ts.
 */
import t, { type Test } from 'tap';
import fc from 'fast-check';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { umbrellaMain } from '../../src/cli/umbrella.js';
import type { ListIo } from '../../src/list/cli.js';
import type { Watched } from '../../src/list/output.js';
import { diffPolicies, diffSpace, type Change } from '../../src/diff/compare.js';
import { changeKind, givesNewAccess, sameOutcome, type Side } from '../../src/diff/outcome.js';
import { changeJson, changeLine, diffText, groupByRule, outcomeText } from '../../src/diff/render.js';
import { diffStatus } from '../../src/diff/cli.js';
import type { Policy } from '../../src/policy/policy.js';
import type { Rule } from '../../src/parser/rule.js';
import { makeSystem, memPolicy } from '../helpers/policy.js';
import { captureIo, SYSTEM_INFO } from '../cli/fixtures/cli.js';
import { bruteForceDiff, keyOf } from './oracle.js';
import { arbSystem } from '../property/gen/system.js';
import { arbRule, arbTree, renderTree, type PolicyLine, type PolicyTree } from '../property/gen/policy.js';
import { loadRendered } from '../property/lib/tree.js';

const si = makeSystem();

function pol(text: string, more: Record<string, string> = {}): Policy {
  const p = memPolicy({ '30-user.policy': text, ...more });
  if (p.error) throw new Error(p.error.describe());
  return p;
}

const keys = (cs: readonly { source: string; target: string; entry?: { request: string }; service?: string }[]) =>
  cs.map((c) => keyOf({ source: c.source, target: c.target, service: c.entry ? c.entry.request : c.service! })).sort();

/** diffPolicies, checked against the oracle on every call. */
function diff(t: Test, a: Policy, b: Policy, s = si): Change[] {
  const r = diffPolicies(a, b, s);
  t.same(keys(r.changes), keys(bruteForceDiff(a, b, s)), 'the same requests as evaluating the whole space');
  return r.changes;
}

// ------------------------------------------------------------------ seeded pairs

t.test('identical policies, a rule moved to another file, comments added: nothing changes, nothing is evaluated', async (t) => {
  const a = pol('qubes.Gpg * work vault allow\nqubes.Gpg * @anyvm @anyvm deny\n');
  t.same(diff(t, a, a), []);
  const moved = memPolicy({ '20-first.policy': '# moved here\nqubes.Gpg * work vault allow\n', '30-user.policy': '\n\nqubes.Gpg * @anyvm @anyvm deny\n' });
  const r = diffPolicies(a, moved, si);
  t.same(r.changes, []);
  t.equal(r.evaluated, 0, 'the same rules in the same order: proven alike without evaluating');
  t.ok(r.requests > 0);
});

t.test('a new deny reason is not a change: deny rule, no rule, autostart', async (t) => {
  const a = pol('qubes.Gpg * work vault deny\n');
  const b = pol('qubes.Other * work vault deny\n');
  t.same(diff(t, a, b), [], 'denied by a rule vs no matching rule');
  // vault is halted: an autostart=no allow denies, as the deny rule did
  t.same(diff(t, a, pol('qubes.Gpg * work vault allow autostart=no\n')), []);
});

t.test('one allow becomes deny: exactly that request', async (t) => {
  const a = pol('qubes.Gpg * work vault allow\nqubes.Gpg * @anyvm @anyvm deny\n');
  const b = pol('qubes.Gpg * work vault deny\nqubes.Gpg * @anyvm @anyvm deny\n');
  const changes = diff(t, a, b);
  t.same(keys(changes), ['work -> vault qubes.Gpg']);
  t.equal(changeKind(changes[0]!.before, changes[0]!.after), 'newly denied');
  t.equal(changeLine(changes[0]!), 'newly denied: work -> vault qubes.Gpg (allow to vault => deny)');
  t.equal(diffStatus({ changes, requests: 1, evaluated: 1 }), 1);
  t.equal(diffStatus({ changes, requests: 1, evaluated: 1 }, 'new-allow'), 0, 'losing access is not new access');
});

t.test('a deny put before an ask takes that target from every offer, and denies asking for it', async (t) => {
  const ask = 'qubes.Filecopy * @anyvm @anyvm ask\n';
  const a = pol(ask);
  const b = pol('qubes.Filecopy * @anyvm vault deny\n' + ask);
  const changes = diff(t, a, b);
  const byKey = new Map(changes.map((c) => [keyOf({ ...c, service: c.entry.request }), c]));
  const workVault = byKey.get('work -> vault qubes.Filecopy')!;
  t.equal(changeKind(workVault.before, workVault.after), 'newly denied');
  const workPersonal = byKey.get('work -> personal qubes.Filecopy')!;
  t.equal(changeKind(workPersonal.before, workPersonal.after), 'asks differently');
  t.equal(changeLine(workPersonal), 'asks differently: work -> personal qubes.Filecopy (ask: -vault)');
  t.notOk(byKey.has('vault -> personal qubes.Filecopy'), 'vault never offered itself: its asks are unchanged');
  t.ok(byKey.has('vault -> vault qubes.Filecopy'), 'but asking for itself is now denied by the rule');
  t.notOk(byKey.has('dom0 -> vault qubes.Filecopy'), '@anyvm rules never match dom0');
  t.equal(diffStatus({ changes, requests: 1, evaluated: 1 }, 'new-allow'), 0);
});

t.test('a rule for one argument: only that argument, as SERVICE+ARG', async (t) => {
  const base = 'qubes.Foo * @anyvm @anyvm deny\n';
  const changes = diff(t, pol(base), pol('qubes.Foo +bar work vault allow\n' + base));
  t.same(keys(changes), ['work -> vault qubes.Foo+bar']);
  t.equal(changeKind(changes[0]!.before, changes[0]!.after), 'newly allowed');
  t.equal(diffStatus({ changes, requests: 1, evaluated: 1 }, 'new-allow'), 1);
});

t.test('a `*` rule: every service the policies name, and any other service', async (t) => {
  const a = pol('qubes.A * @anyvm @anyvm deny\nqubes.B +x @anyvm @anyvm deny\n* * @anyvm @anyvm deny\n');
  const b = pol('* * work vault allow\nqubes.A * @anyvm @anyvm deny\nqubes.B +x @anyvm @anyvm deny\n* * @anyvm @anyvm deny\n');
  const changes = diff(t, a, b);
  t.same(keys(changes), ['work -> vault list.AnyOtherService', 'work -> vault qubes.A', 'work -> vault qubes.B', 'work -> vault qubes.B+x']);
});

t.test('the ask default alone, a redirect, and a disposable: each a change of its own kind', async (t) => {
  const a = pol('qubes.A * work @anyvm ask default_target=vault\nqubes.B * work @default allow target=vault\nqubes.C * work @dispvm allow\n');
  const b = pol('qubes.A * work @anyvm ask default_target=personal\nqubes.B * work @default allow target=personal\nqubes.C * work @dispvm ask\n');
  const changes = diff(t, a, b);
  const line = (svc: string) => changeLine(changes.find((c) => c.entry.request === svc && c.target === (svc === 'qubes.C' ? '@dispvm' : '@default'))!);
  t.match(line('qubes.A'), /^asks differently: work -> @default qubes\.A \(ask: default vault => personal\)$/);
  t.equal(line('qubes.B'), 'allowed to another target: work -> @default qubes.B (allow to vault => allow to personal)');
  t.match(line('qubes.C'), /^asks instead of allowing: work -> @dispvm qubes\.C \(allow to @dispvm:default-dvm => ask /);
  const back = diffPolicies(b, a, si).changes.find((c) => c.entry.request === 'qubes.A' && c.target === '@default')!;
  t.equal(changeLine(back), 'asks differently: work -> @default qubes.A (ask: default personal => vault)');
  const dropped = diffPolicies(b, pol('qubes.A * work @anyvm ask\n'), si).changes.find((c) => c.entry.request === 'qubes.A' && c.target === '@default')!;
  t.equal(changeLine(dropped), 'asks differently: work -> @default qubes.A (ask: default personal => none)');
  const gate = (svc: string) => {
    const c = changes.find((x) => x.entry.request === svc)!;
    return givesNewAccess(c.before, c.after);
  };
  t.equal(gate('qubes.A'), false, 'another default is not new access');
  t.equal(gate('qubes.B'), true, 'allowed to another target is');
});

t.test('a caller whose default_dispvm names no qube: faults are compared like any deny', async (t) => {
  const odd = makeSystem({ work: { type: 'AppVM', default_dispvm: 'gone', power_state: 'Running' } });
  const a = pol('qubes.A * work @dispvm:default-dvm allow\nqubes.A * work @anyvm ask\n');
  const b = pol('qubes.A * work @dispvm:default-dvm allow\nqubes.A * work @anyvm ask\nqubes.A * work vault allow\n');
  diff(t, a, b, odd);
});

t.test('names no request may carry (over 1,024 characters) are denied alike on both sides', async (t) => {
  const long = 'q'.repeat(1100);
  const big = makeSystem({ [long]: { type: 'AppVM' } });
  const svc = 'qubes.' + 'S'.repeat(1100);
  const a = pol(`${svc} * @anyvm @anyvm deny\nqubes.A * @anyvm @anyvm deny\n`);
  const b = pol(`${svc} * @anyvm @anyvm allow\nqubes.A * @anyvm @anyvm allow\n`);
  const changes = diff(t, a, b, big);
  t.ok(changes.length > 0);
  t.notOk(changes.some((c) => c.source === long || c.target === long || c.entry.request === svc));
});

// ------------------------------------------------------------------ kinds and the gate

t.test('changeKind and givesNewAccess for every pair of results', async (t) => {
  const R = null as Rule | null;
  const deny: Side = { result: 'deny', rule: R, reason: null };
  const allowV: Side = { result: 'allow', target: 'vault', rule: R };
  const allowP: Side = { result: 'allow', target: 'personal', rule: R };
  const askV: Side = { result: 'ask', targets: ['vault'], defaultTarget: null, rule: R };
  const askVP: Side = { result: 'ask', targets: ['personal', 'vault'], defaultTarget: null, rule: R };
  const askVd: Side = { result: 'ask', targets: ['vault'], defaultTarget: 'vault', rule: R };
  const table: [Side, Side, string, boolean][] = [
    [deny, allowV, 'newly allowed', true],
    [askV, allowV, 'allowed without asking', true],
    [allowP, allowV, 'allowed to another target', true],
    [deny, askV, 'newly asks', true],
    [allowV, askV, 'asks instead of allowing', false],
    [allowV, askVP, 'asks instead of allowing', true],
    [askV, askVP, 'asks differently', true],
    [askVP, askV, 'asks differently', false],
    [askV, askVd, 'asks differently', false],
    [allowV, deny, 'newly denied', false],
    [askV, deny, 'newly denied', false],
  ];
  for (const [b, a, kind, access] of table) {
    t.equal(changeKind(b, a), kind, `${outcomeText(b)} => ${outcomeText(a)}`);
    t.equal(givesNewAccess(b, a), access, `${outcomeText(b)} => ${outcomeText(a)}: new access?`);
    t.notOk(sameOutcome(b, a));
  }
  t.ok(sameOutcome(deny, { result: 'deny', rule: R, reason: 'another reason' }));
  t.ok(sameOutcome(askVP, { result: 'ask', targets: ['personal', 'vault'], defaultTarget: null, rule: R }));
  t.notOk(sameOutcome(askVP, { result: 'ask', targets: ['personal', 'work'], defaultTarget: null, rule: R }));
});

// ------------------------------------------------------------------ output

t.test('text: changes grouped by the rule that now decides them, counted by kind', async (t) => {
  const a = pol('qubes.Gpg * work vault allow\nqubes.Gpg * personal vault allow\nqubes.Gpg * @anyvm @anyvm deny\n');
  const b = pol('qubes.Gpg * work personal allow\nqubes.Gpg * @anyvm @anyvm deny\n');
  const changes = diff(t, a, b);
  t.equal(
    diffText(changes),
    [
      '/etc/qubes/policy.d/30-user.policy:1: qubes.Gpg * work personal allow',
      '  newly allowed: work -> personal qubes.Gpg (deny => allow to personal)',
      '  1 request: 1 newly allowed',
      '',
      '/etc/qubes/policy.d/30-user.policy:2: qubes.Gpg * @anyvm @anyvm deny',
      '  newly denied: personal -> vault qubes.Gpg (allow to vault => deny)',
      '  newly denied: work -> vault qubes.Gpg (allow to vault => deny)',
      '  2 requests: 2 newly denied',
      '',
      '3 requests changed: 1 newly allowed, 2 newly denied',
      '',
    ].join('\n'),
  );
  t.equal(diffText([]), '');
  t.match(diffText(changes, { perGroup: 1 }), /  newly denied: personal -> vault qubes\.Gpg \(allow to vault => deny\)\n  \.\.\. and 1 more\n  2 requests: 2 newly denied\n/);
  t.same(
    changes.map((c) => JSON.parse(changeJson(c))),
    [
      {
        source: 'personal',
        target: 'vault',
        service: 'qubes.Gpg',
        before: { result: 'allow', target: 'vault', rule: { file: '/etc/qubes/policy.d/30-user.policy', line: 2 } },
        after: { result: 'deny', rule: { file: '/etc/qubes/policy.d/30-user.policy', line: 2 } },
      },
      {
        source: 'work',
        target: 'personal',
        service: 'qubes.Gpg',
        before: { result: 'deny', rule: { file: '/etc/qubes/policy.d/30-user.policy', line: 3 } },
        after: { result: 'allow', target: 'personal', rule: { file: '/etc/qubes/policy.d/30-user.policy', line: 1 } },
      },
      {
        source: 'work',
        target: 'vault',
        service: 'qubes.Gpg',
        before: { result: 'allow', target: 'vault', rule: { file: '/etc/qubes/policy.d/30-user.policy', line: 1 } },
        after: { result: 'deny', rule: { file: '/etc/qubes/policy.d/30-user.policy', line: 2 } },
      },
    ],
  );
});

t.test('text: asks, denies for another reason, no rule, the implicit compat deny; groups in file and line order', async (t) => {
  const a = pol('qubes.A * work @anyvm ask\nqubes.B * work vault allow\n', { '10-first.policy': 'qubes.C * work vault allow\n' });
  const b = pol('qubes.A * work @anyvm ask default_target=personal\nqubes.B * work vault allow autostart=no\n');
  const changes = diff(t, a, b);
  const text = diffText(changes);
  t.match(text, /^\/etc\/qubes\/policy\.d\/30-user\.policy:1: qubes\.A \* work @anyvm ask default_target=personal\n  asks differently: work -> @default qubes\.A \(ask: default none => personal\)\n/);
  t.match(text, /newly denied: work -> vault qubes\.B \(allow to vault => deny: target vault is denied because it would require autostart\)/);
  t.match(text, /\nno rule decides these \(denied\):\n  newly denied: work -> vault qubes\.C \(allow to vault => deny: no matching rule found\)\n/);
  t.ok(text.indexOf('30-user.policy:1:') < text.indexOf('30-user.policy:2:') && text.indexOf('30-user.policy:2:') < text.indexOf('no rule decides'));
  // long ask lists are shortened in text (JSON has them all)
  const many = makeSystem(Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`extra-${i}`, { type: 'AppVM' }])));
  const wide = diffPolicies(pol('qubes.W * work @anyvm deny\n'), pol('qubes.W * work @anyvm ask\n'), many).changes;
  t.match(changeLine(wide[0]!), /\(deny => ask [^)]*, \.\.\. \d+ more\)$/);
  // the R4.0 implicit deny after a specific-argument file names no line: grouped after the file's own rules
  const legacy = { 'qubes.L+x': 'work vault allow\n' };
  const c = memPolicy({ '30-user.policy': '!compat-4.0\n' }, { legacy });
  const d = memPolicy({ '30-user.policy': '!compat-4.0\n' }, { legacy: { 'qubes.L+x': 'work personal allow\n' } });
  const groups = groupByRule(diffPolicies(c, d, si).changes);
  t.same(
    groups.map((g) => (g.rule ? [g.rule.file, g.rule.line] : null)),
    [
      ['/etc/qubes-rpc/policy/qubes.L+x', 1],
      ['/etc/qubes-rpc/policy/qubes.L+x', null],
    ],
  );
});

// ------------------------------------------------------------------ the command

function quietStream(): Watched {
  return Object.assign(new EventEmitter(), { writableNeedDrain: false });
}

const dir = t.testdir({
  old: { '30-user.policy': 'qubes.Gpg * work vault allow\nqubes.Gpg * @anyvm @anyvm deny\n', README: 'not policy\n' },
  same: { '30-user.policy': 'qubes.Gpg  *  work  vault  allow\n# a comment\nqubes.Gpg * @anyvm @anyvm deny\n' },
  denied: { '30-user.policy': 'qubes.Gpg * work vault deny\nqubes.Gpg * @anyvm @anyvm deny\n' },
  opened: { '30-user.policy': 'qubes.Gpg * work vault allow\nqubes.Gpg * @anyvm vault ask\nqubes.Gpg * @anyvm @anyvm deny\n' },
  broken: { '30-user.policy': 'qubes.Gpg * work vault allow\nqubes.Gpg * work\n' },
  compat: { '30-user.policy': '!compat-4.0\n' },
  legacy: { 'qubes.Gpg': 'work vault deny\n' },
  'si.json': JSON.stringify(SYSTEM_INFO),
  'file.txt': 'not a directory\n',
  // enough qubes for output past one buffer (64 KiB)
  'si-big.json': JSON.stringify({
    domains: {
      dom0: { type: 'AdminVM', uuid: '00000000-0000-0000-0000-000000000000' },
      ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`qube-${i}`, { type: 'AppVM', uuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` }])),
    },
  }),
  askall: { '30-user.policy': 'qubes.Gpg * work vault allow\nqubes.Gpg * @anyvm @anyvm deny\n* * @anyvm @anyvm ask\n' },
});
const at = (n: string) => path.join(dir, n);
const SI = ['--system-info', at('si.json')];

async function diffCli(args: string[], env: NodeJS.ProcessEnv = {}, stream: Watched = quietStream()) {
  const c = captureIo(env);
  const status = await umbrellaMain(['diff', ...args], { ...c.io, stream } as ListIo);
  return { status, out: c.out, err: c.err };
}

t.test('qrexec-policy diff: exit 0 and a count when nothing changed', async (t) => {
  const r = await diffCli([...SI, at('old'), at('same')]);
  t.same([r.status, r.err], [0, '']);
  t.match(r.out, /^no decision changed \(\d+ requests compared\)\n$/);
  const j = await diffCli([...SI, '--format', 'json', at('old'), at('same')]);
  t.same([j.status, j.out, j.err], [0, '', ''], 'JSON: no lines at all');
});

t.test('qrexec-policy diff: exit 1 and the change; --fail-on new-allow counts only new access', async (t) => {
  const r = await diffCli([...SI, at('old'), at('denied')]);
  t.equal(r.status, 1);
  t.equal(
    r.out,
    `${at('denied')}/30-user.policy:1: qubes.Gpg * work vault deny\n  newly denied: work -> vault qubes.Gpg (allow to vault => deny)\n  1 request: 1 newly denied\n\n1 request changed: 1 newly denied\n`,
  );
  t.equal((await diffCli([...SI, '--fail-on', 'new-allow', at('old'), at('denied')])).status, 0, 'only access taken away');
  const opened = await diffCli([...SI, '--fail-on', 'new-allow', '--format', 'json', at('old'), at('opened')]);
  t.equal(opened.status, 1, 'new ask targets are new access');
  const lines = opened.out.trimEnd().split('\n').map((l) => JSON.parse(l));
  t.ok(lines.length > 0);
  for (const l of lines) t.same(Object.keys(l), ['source', 'target', 'service', 'before', 'after']);
  t.ok(lines.some((l) => l.source === 'personal' && l.target === 'vault' && l.after.result === 'ask' && l.after.targets.includes('vault')));
  t.equal((await diffCli([...SI, '--fail-on', 'new-allow', at('denied'), at('old')])).status, 1, 'and the other way round it is');
});

t.test('qrexec-policy diff: trees that cannot be compared, and usage errors, exit 2', async (t) => {
  const broken = await diffCli([...SI, at('old'), at('broken')]);
  t.same([broken.status, broken.out], [2, '']);
  t.equal(broken.err, `qrexec-policy diff: ${at('broken')} does not load: ${at('broken')}/30-user.policy:2: wrong number of fields\n`);
  const notDir = await diffCli([...SI, at('file.txt'), at('nowhere')]);
  t.equal(notDir.status, 2);
  t.equal(notDir.err, `qrexec-policy diff: ${at('file.txt')} is not a directory\nqrexec-policy diff: ${at('nowhere')} is not a directory\n`);
  const si2 = await diffCli(['--system-info', at('no-such.json'), at('old'), at('same')]);
  t.equal(si2.status, 2);
  t.equal(si2.err, `qrexec-policy diff: cannot read system info ${at('no-such.json')}: does not exist\n`);
  const usage = await diffCli([at('old')]);
  t.equal(usage.status, 2);
  t.match(usage.err, /Not enough non-option arguments/);
  t.equal((await diffCli(['--fail-on', 'everything', at('old'), at('same')])).status, 2);
});

t.test('qrexec-policy diff: system info from the environment, --legacy-path for !compat-4.0, --help', async (t) => {
  const env = await diffCli([at('old'), at('denied')], { QREXEC_POLICY_SYSTEM_INFO: at('si.json') });
  t.equal(env.status, 1);
  const compat = await diffCli([...SI, '--legacy-path', at('legacy'), '--format', 'json', at('old'), at('compat')]);
  t.equal(compat.status, 1);
  t.same(JSON.parse(compat.out), {
    source: 'work',
    target: 'vault',
    service: 'qubes.Gpg',
    before: { result: 'allow', target: 'vault', rule: { file: `${at('old')}/30-user.policy`, line: 1 } },
    after: { result: 'deny', rule: { file: `${at('legacy')}/qubes.Gpg`, line: 1 } },
  });
  const { captureProcess } = await import('../cli/fixtures/cli.js');
  const help = await captureProcess(() => diffCli(['--help']));
  t.equal(help.value.status, 0);
  for (const opt of ['--system-info', '--legacy-path', '--format', '--fail-on', 'exit status']) t.ok(help.stdout.includes(opt), opt);
});

t.test('qrexec-policy diff: long output is written in pieces, to process.stdout by default', async (t) => {
  for (const format of ['text', 'json']) {
    const chunks: number[] = [];
    const c = captureIo({});
    // no stream given: the command watches process.stdout, where the real command writes
    const status = await umbrellaMain(['diff', '--system-info', at('si-big.json'), '--format', format, at('old'), at('askall')], { ...c.io, out: (s) => void chunks.push(s.length) });
    t.equal(status, 1);
    t.ok(chunks.length > 1, `${format}: ${chunks.length} writes`);
    t.ok(chunks.reduce((a, b) => a + b, 0) > 1 << 16);
  }
});

t.test('qrexec-policy diff: a reader that goes away stops the output quietly (exit 1)', async (t) => {
  const gone = Object.assign(new EventEmitter(), { writableNeedDrain: false });
  const c = captureIo({});
  let writes = 0;
  const io: ListIo = {
    ...c.io,
    stream: gone,
    out: (s) => {
      c.io.out(s);
      if (++writes === 1) gone.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    },
  };
  t.equal(await umbrellaMain(['diff', ...SI, '--format', 'json', at('old'), at('opened')], io), 1);
  t.equal(c.err, '');
  t.equal(await umbrellaMain(['diff', ...SI, at('old'), at('opened')], { ...io, stream: gone }), 1, 'text as well');
});

// ------------------------------------------------------------------ generated pairs

type Mutation = { kind: 'replace' | 'insert'; file: number; line: number; rule: PolicyLine } | { kind: 'delete' | 'swap'; file: number; line: number };

/** Apply one edit to a top-level file (indexes wrap around). */
function mutate(tree: PolicyTree, m: Mutation): PolicyTree {
  const files = tree.files.map((f) => f.slice());
  if (files.length === 0) return tree;
  const f = files[m.file % files.length]!;
  const i = f.length ? m.line % f.length : 0;
  if (m.kind === 'insert') f.splice(i, 0, m.rule);
  else if (f.length === 0) return tree;
  else if (m.kind === 'replace') f[i] = m.rule;
  else if (m.kind === 'delete') f.splice(i, 1);
  else if (i + 1 < f.length) [f[i], f[i + 1]] = [f[i + 1]!, f[i]!];
  return { ...tree, files };
}

const ruleLine = arbRule.map((rule): PolicyLine => ({ kind: 'rule', rule, layout: { sep: ' ', indent: '', trail: '' } }));
const arbMutation = fc.oneof(
  fc.record({ kind: fc.constantFrom('replace' as const, 'insert' as const), file: fc.nat(), line: fc.nat(), rule: ruleLine }),
  fc.record({ kind: fc.constantFrom('delete' as const, 'swap' as const), file: fc.nat(), line: fc.nat() }),
);

t.test('generated policy pairs: diff finds exactly the requests whose effect changed', async (t) => {
  let compared = 0;
  fc.assert(
    fc.property(arbSystem, arbTree, fc.array(arbMutation, { minLength: 1, maxLength: 3 }), fc.boolean(), arbTree, (sys, tree, edits, independent, other) => {
      const a = loadRendered(renderTree(tree));
      const b = loadRendered(renderTree(independent ? other : edits.reduce(mutate, tree)));
      if (a.error || b.error) return;
      compared++;
      const r = diffPolicies(a, b, sys.si);
      const oracle = bruteForceDiff(a, b, sys.si);
      if (JSON.stringify(keys(r.changes)) !== JSON.stringify(keys(oracle))) throw new Error(`diff ${JSON.stringify(keys(r.changes))}\noracle ${JSON.stringify(keys(oracle))}`);
      // and each side is the decision eval gives
      const byKey = new Map(oracle.map((o) => [keyOf(o), o]));
      for (const c of r.changes) {
        const o = byKey.get(keyOf({ ...c, service: c.entry.request }))!;
        const want = JSON.parse(changeJson(c)) as { before: { result: string }; after: { result: string } };
        if (want.before.result !== o.before.result || want.after.result !== o.after.result) throw new Error(`sides differ for ${keyOf(o)}`);
      }
      const space = diffSpace(a, b, sys.si);
      if (r.requests !== space.entries.length * space.sources.length * space.targets.length) throw new Error('request count');
    }),
    { numRuns: Number(process.env['QREXEC_PROPERTY_SCALE'] ?? 1) * 150 },
  );
  t.ok(compared > 50, `${compared} loadable pairs compared`);
});

t.test('a policy file read from disk twice compares alike (rules are compared by what they say)', async (t) => {
  const { loadPolicySet } = await import('../../src/policy/policy.js');
  const a = loadPolicySet({ paths: [at('old')], legacyPath: at('legacy') });
  const b = loadPolicySet({ paths: [at('same')], legacyPath: at('legacy') });
  const r = diffPolicies(a, b, makeSystem());
  t.same([r.changes.length, r.evaluated], [0, 0]);
  t.ok(fs.existsSync(at('old')));
});

/**
 * `qrexec-policy eval` and `explain` in process: human and --json output,
 * exit statuses, policy sources (--path, --policy-path, --legacy,
 * --legacy-path, system info from option / environment / qubesd),
 * fail-closed behaviour; `eval --json --batch FILE` (one decision line per
 * input line, per-line overrides, bad lines denied, never an abort); and
 * `explain` (deciding rule, rules passed over with the column that did not
 * match, where ask targets came from). One file, so one process start.
 * Standard input for --batch is tested with a real process in processes.test.ts.
 */
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { umbrellaMain } from '../../src/cli/umbrella.js';
import { standaloneMain } from '../../src/cli/standalone.js';
import { command as graphCommand } from '../../src/cli/commands/graph.js';
import { evalStatus, runEval } from '../../src/eval/cli.js';
import { runBatch } from '../../src/eval/batch.js';
import { decisionText } from '../../src/render/text.js';
import { captureIo, captureProcess, decisionJson, fakeQubesd, JSON_KEYS, paths, throwingEnv, tree } from './fixtures/cli.js';

const MANY = 60;
const manyPolicy =
  Array.from({ length: MANY }, (_, i) => `qubes.Many * work other${i} allow`).join('\n') + '\nqubes.Many * work personal allow\n';
const p = paths(t.testdir({ ...tree(), 'many.d': { '50-many.policy': manyPolicy } }));
const userFile = `${p.policy}/30-user.policy`;

/** `qrexec-policy eval --path POLICY --system-info SI ...args` in process. */
async function evalCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const c = captureIo(env);
  // log lines (winston) may go to the process's stderr: capture that too
  const cap = await captureProcess(async () => {
    const status = await umbrellaMain(['eval', ...args], c.io);
    await new Promise((resolve) => setImmediate(resolve));
    return status;
  });
  if (cap.stdout !== '') throw new Error(`eval wrote to process.stdout: ${JSON.stringify(cap.stdout)}`);
  return { status: cap.value, out: c.out, err: c.err + cap.stderr };
}
const std = ['--path', p.policy, '--system-info', p.si];

/** Parse one JSON decision line, checking key order and the trailing newline. */
function parseDecision(t: Test, out: string): Record<string, unknown> {
  t.ok(out.endsWith('\n'), 'ends with one newline');
  t.equal(out.split('\n').length, 2, 'exactly one line');
  const o = JSON.parse(out) as Record<string, unknown>;
  const keys = Object.keys(o);
  t.same(keys.slice(0, JSON_KEYS.length), JSON_KEYS, 'documented key order');
  if (o['result'] === 'deny') {
    t.equal(keys[keys.length - 1], 'reason', 'reason is last on deny');
    t.type(o['reason'], 'string');
  } else t.notOk('reason' in o, 'no reason unless deny');
  return o;
}

t.test('allow: human line and JSON, exit 0', async (t) => {
  let r = await evalCli([...std, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 0);
  t.equal(r.out, `allow to vault (rule ${userFile}:2)\n`);
  t.equal(r.err, '');

  r = await evalCli(['--json', ...std, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 0);
  t.equal(
    r.out,
    decisionJson({
      result: 'allow',
      service: 'qubes.Gpg',
      argument: '+',
      source: 'work',
      requested_target: 'vault',
      target: 'vault',
      user: null,
      autostart: true,
      notify: false,
      rule: { file: userFile, line: 2 },
    }) + '\n',
  );
  parseDecision(t, r.out);
});

t.test('allow details: user=, notify=yes, autostart, dom0, disposables, RemoteVM', async (t) => {
  let r = await evalCli([...std, 'work', 'personal', 'qubes.VMShell']);
  t.equal(r.out, `allow to personal user=root (rule ${userFile}:7)\n`);
  r = await evalCli([...std, 'work', 'personal', 'qubes.Notes+todo']);
  t.equal(r.out, `allow to personal notify=yes (rule ${userFile}:13)\n`);

  r = await evalCli(['--json', ...std, 'work', 'personal', 'qubes.Notes+todo']);
  let o = parseDecision(t, r.out);
  t.match(o, { service: 'qubes.Notes', argument: '+todo', user: null, notify: true });

  r = await evalCli(['--json', ...std, 'work', '@adminvm', 'qubes.GetDate']);
  t.equal(r.status, 0);
  o = parseDecision(t, r.out);
  t.match(o, { requested_target: '@adminvm', target: 'dom0', rule: { line: 8 } });

  r = await evalCli(['--json', ...std, 'work', '@dispvm', 'qubes.OpenURL']);
  o = parseDecision(t, r.out);
  t.match(o, { result: 'allow', requested_target: '@dispvm', target: '@dispvm:default-dvm' });

  // a RemoteVM target: JSON names the RemoteVM itself (the relay is only in the block)
  r = await evalCli(['--json', ...std, 'work', 'remote1', 'qubes.ToRemote']);
  o = parseDecision(t, r.out);
  t.match(o, { result: 'allow', target: 'remote1', requested_target: 'remote1' });

  // --requested-source: evaluated as the RemoteVM, reported in the JSON
  r = await evalCli(['--json', ...std, '--requested-source', 'remote1', 'sys-relay', 'vault', 'qubes.Relayed']);
  t.equal(r.status, 0);
  o = parseDecision(t, r.out);
  t.match(o, { result: 'allow', target: 'vault', requested_source: 'remote1', rule: { line: 9 } });

  // allow with autostart=no to a halted qube: denied
  r = await evalCli([...std, 'work', 'vault', 'qubes.Halt']);
  t.equal(r.status, 1);
  t.match(r.out, /^deny: .*autostart.* \(rule .*30-user\.policy:11\)\n$/);
});

t.test('ask: human line and JSON, exit 3; empty target as a positional', async (t) => {
  let r = await evalCli([...std, 'work', '', 'qubes.Filecopy']);
  t.equal(r.status, 3);
  t.equal(r.out, `ask: choose from @dispvm:default-dvm, personal (default personal) (rule ${userFile}:3)\n`);

  r = await evalCli(['--json', ...std, 'work', '', 'qubes.Filecopy']);
  t.equal(r.status, 3);
  t.equal(
    r.out,
    decisionJson({
      result: 'ask',
      service: 'qubes.Filecopy',
      argument: '+',
      source: 'work',
      requested_target: '@default',
      targets: ['@dispvm:default-dvm', 'personal'],
      default_target: 'personal',
      user: null,
      autostart: true,
      notify: false,
      rule: { file: userFile, line: 3 },
    }) + '\n',
  );
  parseDecision(t, r.out);

  // an ask without default_target
  r = await evalCli([...std, 'work', 'personal', 'qubes.Filecopy']);
  t.equal(r.status, 3);
  t.equal(r.out, `ask: choose from @dispvm:default-dvm, personal (rule ${userFile}:4)\n`);
});

t.test('--assume-yes-for-ask', async (t) => {
  let r = await evalCli(['--assume-yes-for-ask', ...std, 'work', 'personal', 'qubes.Filecopy']);
  t.equal(r.status, 0);
  t.equal(r.out, `allow to personal (rule ${userFile}:4)\n`);

  r = await evalCli(['--json', '--assume-yes-for-ask', ...std, 'work', '', 'qubes.Filecopy']);
  t.equal(r.status, 1, 'ask for @default cannot be assumed yes');
  const o = parseDecision(t, r.out);
  t.match(o, { result: 'deny', requested_target: '@default' });

  // not set: still ask
  r = await evalCli([...std, 'work', 'personal', 'qubes.Filecopy']);
  t.equal(r.status, 3);
});

t.test('deny: human line and JSON, exit 1', async (t) => {
  let r = await evalCli([...std, 'personal', 'vault', 'qubes.Filecopy']);
  t.equal(r.status, 1);
  // the reason names the rule already: its place is not repeated
  t.equal(r.out, `deny: denied by policy ${userFile}:6\n`);

  r = await evalCli(['--json', ...std, 'personal', 'vault', 'qubes.Filecopy']);
  t.equal(r.status, 1);
  const o = parseDecision(t, r.out);
  t.match(o, {
    result: 'deny',
    service: 'qubes.Filecopy',
    argument: '+',
    source: 'personal',
    requested_target: 'vault',
    target: null,
    targets: null,
    default_target: null,
    user: null,
    notify: true,
    rule: { file: userFile, line: 6 },
  });

  // no matching rule: rule null, notify true
  r = await evalCli(['--json', ...std, 'work', 'vault', 'qubes.Unknown']);
  t.equal(r.status, 1);
  t.match(parseDecision(t, r.out), { result: 'deny', rule: null, notify: true });
});

t.test('unknown target: @default with a warning on stderr, never on stdout', async (t) => {
  let r = await evalCli([...std, 'work', 'nonexistent', 'qubes.Gpg']);
  t.equal(r.status, 1);
  t.match(r.err, /^warning: target "nonexistent" does not exist, using @default instead\n$/);
  t.match(r.out, /^deny: no matching rule found\n$/);
  r = await evalCli(['--json', ...std, 'work', 'nonexistent', 'qubes.Gpg']);
  t.match(parseDecision(t, r.out), { requested_target: '@default' });
  t.notMatch(r.err, /\{/, 'stderr carries no decision');
  r = await evalCli(['--log-level', 'error', ...std, 'work', 'nonexistent', 'qubes.Gpg']);
  t.equal(r.err, '', '--log-level error silences the warning');
  t.match(r.out, /^deny: /);
});

t.test('--path repeated and --policy-path alias: first directory with a basename wins', async (t) => {
  let r = await evalCli(['--json', '--path', p.run, '--path', p.policy, '--system-info', p.si, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 1);
  t.match(parseDecision(t, r.out), { result: 'deny', notify: false, rule: { file: `${p.run}/30-user.policy`, line: 1 } });
  // the shadowed policy.d/30-user.policy is not loaded at all
  r = await evalCli(['--json', '--path', p.run, '--path', p.policy, '--system-info', p.si, 'work', 'personal', 'qubes.VMShell']);
  t.match(parseDecision(t, r.out), { result: 'deny', rule: null });

  r = await evalCli(['--json', '--policy-path', p.policy, '--policy-path', p.run, '--system-info', p.si, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 0);
  t.match(parseDecision(t, r.out), { result: 'allow', rule: { file: userFile, line: 2 } });

  // --path=DIR form
  r = await evalCli([`--path=${p.run}`, '--system-info', p.si, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 1);
});

t.test(
  '--path DIR directly followed by the positionals',
  async (t) => {
    const r = await evalCli(['--system-info', p.si, '--path', p.policy, 'work', 'vault', 'qubes.Gpg']);
    t.equal(r.status, 0);
    t.equal(r.out, `allow to vault (rule ${userFile}:2)\n`);
  },
);

t.test('!compat-4.0 with --legacy-path; --legacy', async (t) => {
  const compatFile = `${p.compat}/10-compat.policy`;
  let r = await evalCli(['--json', '--path', p.compat, '--legacy-path', p.legacy, '--system-info', p.si, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 1);
  t.match(parseDecision(t, r.out), { rule: { file: compatFile, line: 1 } });

  r = await evalCli(['--json', '--path', p.compat, '--legacy-path', p.legacy, '--system-info', p.si, 'work', 'vault', 'qubes.Foo']);
  t.equal(r.status, 0);
  t.match(parseDecision(t, r.out), { result: 'allow', target: 'vault', rule: { file: `${p.legacy}/qubes.Foo`, line: 1 } });

  // the implicit deny after a specific-argument file: legacy file, line null
  r = await evalCli(['--json', '--path', p.compat, '--legacy-path', p.legacy, '--system-info', p.si, 'work', 'personal', 'qubes.Bar+x']);
  t.equal(r.status, 1);
  t.match(parseDecision(t, r.out), { result: 'deny', rule: { file: `${p.legacy}/qubes.Bar+x`, line: null } });
  r = await evalCli(['--path', p.compat, '--legacy-path', p.legacy, '--system-info', p.si, 'work', 'personal', 'qubes.Bar+x']);
  t.equal(r.out, `deny: denied by policy ${p.legacy}/qubes.Bar+x\n`, 'no :line for an implicit rule, named once');

  // R4.0 semantics only
  r = await evalCli(['--json', '--legacy', '--legacy-path', p.legacy, '--system-info', p.si, 'work', 'vault', 'qubes.Foo']);
  t.equal(r.status, 0);
  t.match(parseDecision(t, r.out), { result: 'allow', rule: { file: `${p.legacy}/qubes.Foo`, line: 1 } });
  r = await evalCli(['--json', '--legacy', '--legacy-path', p.legacy, '--system-info', p.si, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 1, 'no R4.0 file for the service: deny');
  t.match(parseDecision(t, r.out), { result: 'deny', rule: null });
  // --legacy ignores --path
  r = await evalCli(['--legacy', '--legacy-path', p.legacy, '--path', p.policy, '--system-info', p.si, 'work', 'vault', 'qubes.Foo']);
  t.equal(r.status, 0);
});

t.test('a missing legacy directory for !compat-4.0: could not decide (exit 4), naming it', async (t) => {
  const missing = path.join(p.dir, 'no-legacy');
  const r = await evalCli(['--path', p.compat, '--legacy-path', missing, '--system-info', p.si, 'work', 'vault', 'qubes.Foo']);
  t.equal(r.status, 4);
  t.equal(r.out, '', 'no decision line: nothing was decided');
  t.equal(r.err, `qrexec-policy eval: could not decide: ${p.compat}/10-compat.policy:2: cannot read legacy policy directory ${missing}: does not exist\n`);
});

t.test('a missing --path directory: could not decide (exit 4); --json still prints the deny qrexec would answer', async (t) => {
  const missing = path.join(p.dir, 'no-such-dir');
  const r = await evalCli(['--json', '--path', missing, '--system-info', p.si, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 4);
  const o = parseDecision(t, r.out);
  t.match(o, { result: 'deny', rule: null });
  t.ok(String(o['reason']).includes(missing));
  t.equal(r.err, `qrexec-policy eval: could not decide: ${missing}: cannot read the policy directory: does not exist\n`);
  const legacy = await evalCli(['--legacy', '--legacy-path', missing, '--system-info', p.si, 'work', 'vault', 'qubes.Gpg']);
  t.same([legacy.status, legacy.out, legacy.err], [4, '', `qrexec-policy eval: could not decide: ${missing}: the legacy policy directory does not exist\n`]);
});

t.test('QREXEC_POLICY_SYSTEM_INFO instead of --system-info', async (t) => {
  let r = await evalCli(['--path', p.policy, '--json', 'work', 'vault', 'qubes.Gpg'], { QREXEC_POLICY_SYSTEM_INFO: p.si });
  t.equal(r.status, 0);
  t.match(parseDecision(t, r.out), { result: 'allow', target: 'vault' });
  // the option wins over the environment
  r = await evalCli(['--path', p.policy, '--system-info', p.si, 'work', 'vault', 'qubes.Gpg'], {
    QREXEC_POLICY_SYSTEM_INFO: p.missing,
  });
  t.equal(r.status, 0);
  // an empty variable is as good as unset (falls through to qubesd)
  r = await evalCli(['--path', p.policy, '--qubesd-internal-socket', path.join(p.dir, 'nosock'), 'work', 'vault', 'qubes.Gpg'], {
    QREXEC_POLICY_SYSTEM_INFO: '',
  });
  t.equal(r.status, 4);
  t.match(r.err, /^qrexec-policy eval: could not decide: no system info: give --system-info FILE or run in dom0 \(cannot talk to qubesd at .*nosock: does not exist\)\n$/);
});

t.test('missing or invalid system info: could not decide (exit 4), naming the file; --json prints the deny', async (t) => {
  for (const [file, what] of [
    [p.missing, 'missing file'],
    [p.siNotJson, 'not JSON'],
    [p.siBadType, 'wrong field type'],
    [p.dir, 'a directory'],
  ] as const) {
    let r = await evalCli(['--path', p.policy, '--system-info', file, 'work', 'vault', 'qubes.Gpg']);
    t.equal(r.status, 4, what);
    t.equal(r.out, '', what);
    t.match(r.err, /^qrexec-policy eval: could not decide: [^\n]+\n$/, `${what}: one line`);
    t.ok(r.err.includes(file), `${what}: names the file`);
    r = await evalCli(['--json', '--path', p.policy, '--system-info', file, 'work', 'vault', 'qubes.Gpg']);
    t.equal(r.status, 4);
    const o = parseDecision(t, r.out);
    t.match(o, { result: 'deny', source: 'work', rule: null, requested_target: null });
    t.ok(String(o['reason']).includes(file), `${what}: reason names the file`);
  }
  // the bad field is named
  const r = await evalCli(['--path', p.policy, '--system-info', p.siBadType, 'work', 'vault', 'qubes.Gpg']);
  t.match(r.err, /work.*type/);
});

t.test('system info from qubesd (internal.GetSystemInfo over a unix socket)', async (t) => {
  const ok = await fakeQubesd(Buffer.concat([Buffer.from('0\0'), fs.readFileSync(p.si)]));
  const refused = await fakeQubesd('2\0QubesException\0tb\0fmt\0args\0');
  const garbage = await fakeQubesd('0\0{"domains": 3}');
  // a byte that is not UTF-8 inside a qube name: never read as some other name
  const notUtf8 = await fakeQubesd(Buffer.from('0\0{"domains": {"dom0": {"type": "AdminVM"}, "wo\xffrk": {"type": "AppVM"}}}', 'latin1'));
  t.teardown(() => Promise.all([ok.close(), refused.close(), garbage.close(), notUtf8.close()]));

  let r = await evalCli(['--path', p.policy, '--qubesd-internal-socket', ok.sock, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 0);
  t.equal(r.out, `allow to vault (rule ${userFile}:2)\n`);
  t.same(ok.requests, ['internal.GetSystemInfo+ dom0 name dom0\0']);

  // the environment variable names the socket too
  r = await evalCli(['--path', p.policy, '--json', 'work', 'vault', 'qubes.Gpg'], { QUBESD_INTERNAL_SOCKET: ok.sock });
  t.equal(r.status, 0);
  t.match(parseDecision(t, r.out), { result: 'allow', target: 'vault' });

  // qubesd answers, but not with system info: could not decide
  r = await evalCli(['--path', p.policy, '--qubesd-internal-socket', refused.sock, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 4);
  t.match(r.err, /^qrexec-policy eval: could not decide: .*QubesException/);

  r = await evalCli(['--path', p.policy, '--qubesd-internal-socket', garbage.sock, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 4);
  t.match(r.err, /^qrexec-policy eval: could not decide: system info from qubesd: domains/);

  r = await evalCli(['--path', p.policy, '--qubesd-internal-socket', notUtf8.sock, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 4);
  t.equal(r.err, 'qrexec-policy eval: could not decide: system info from qubesd: not valid UTF-8\n');

  r = await evalCli(['--path', p.policy, '--qubesd-internal-socket', path.join(p.dir, 'none.sock'), 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 4);
  t.match(r.err, /^qrexec-policy eval: could not decide: no system info: give --system-info FILE or run in dom0 \(cannot talk to qubesd at .*none\.sock: does not exist\)\n$/);

  // batch: asked once for all lines without a system_info of their own
  const file = path.join(p.dir, 'qubesd-batch.jsonl');
  fs.writeFileSync(file, '{"source":"work","target":"vault","service":"qubes.Gpg"}\n'.repeat(3));
  const c = captureIo();
  t.equal(await umbrellaMain(['eval', '--json', '--path', p.policy, '--qubesd-internal-socket', ok.sock, '--batch', file], c.io), 0);
  t.equal(c.out.split('\n').filter((l) => l.includes('"result":"allow"')).length, 3);
  t.equal(ok.requests.length, 3, 'one more qubesd call for the whole batch');
});

const QUBESD_HERE = fs.existsSync('/var/run/qubesd.internal.sock') && 'this machine runs qubesd';
t.test('without --system-info, env or socket option: the default qubesd socket', { skip: QUBESD_HERE }, async (t) => {
  const r = await evalCli(['--path', p.policy, '--json', 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 4);
  t.match(parseDecision(t, r.out), { result: 'deny', reason: /^no system info: give --system-info FILE or run in dom0 \(.*\/var\/run\/qubesd\.internal\.sock/ });
});

t.test('a policy syntax error denies every request, naming file:line', async (t) => {
  for (const [src, tgt, svc] of [
    ['work', 'vault', 'qubes.Gpg'], // would be allowed by 10-good.policy
    ['work', 'personal', 'qubes.Other'],
  ] as const) {
    let r = await evalCli(['--json', '--path', p.bad, '--system-info', p.si, src, tgt, svc]);
    t.equal(r.status, 1);
    const o = parseDecision(t, r.out);
    t.match(o, { result: 'deny', rule: null });
    t.match(String(o['reason']), `${p.bad}/20-bad.policy:2`);
    r = await evalCli(['--path', p.bad, '--system-info', p.si, src, tgt, svc]);
    t.match(r.out, new RegExp(`^deny: .*20-bad\\.policy:2`));
  }
});

t.test('invalid requests are denied (exit 1), never crash', async (t) => {
  const cases: Array<[string, string, string, RegExp]> = [
    ['work', '@anyvm', 'qubes.Gpg', /@anyvm/],
    ['work', '@tag:work', 'qubes.Gpg', /@tag:work/],
    ['work', '*', 'qubes.Gpg', /\*/],
    ['work', 'vault', '', /empty service/],
    ['work', 'vault', '+arg', /empty service/],
    ['work', 'vault', 'qubes.Gpgé', /invalid characters/],
    ['work', 'vault', 'qubes Gpg', /invalid characters/],
    ['work', 'vault', 'qubes/Gpg', /invalid characters/],
    ['work', 'vault', 'qubes.Gpg+a/b', /invalid characters/],
    ['work', '@dispvm:vault', 'qubes.Gpg', /vault/],
  ];
  for (const [src, tgt, svc, why] of cases) {
    const r = await evalCli(['--json', ...std, src, tgt, svc]);
    t.equal(r.status, 1, `${tgt} ${svc}`);
    const o = parseDecision(t, r.out);
    t.equal(o['result'], 'deny');
    t.equal(o['rule'], null);
    t.match(String(o['reason']), why);
  }
  // unknown source: deny
  let r = await evalCli(['--json', ...std, 'nosuchqube', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 1);
  t.match(parseDecision(t, r.out), { result: 'deny', source: 'nosuchqube' });
  // a bad target keyword in the JSON: requested_target null
  r = await evalCli(['--json', ...std, 'work', '@anyvm', 'qubes.Gpg']);
  t.match(parseDecision(t, r.out), { requested_target: null, service: 'qubes.Gpg', argument: '+' });
  // --requested-source that is not a RemoteVM
  r = await evalCli(['--json', ...std, '--requested-source', 'personal', 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 1);
  t.match(parseDecision(t, r.out), { result: 'deny', requested_source: 'personal' });
});

t.test('runEval directly: default io writes to the process streams', async (t) => {
  const { value, stdout, stderr } = await captureProcess(() =>
    runEval({ path: [p.policy], systemInfo: p.si, source: 'work', target: 'nonexistent', service: 'qubes.Gpg' }),
  );
  t.equal(value, 1);
  t.match(stdout, /^deny: no matching rule/);
  t.match(stderr, /^warning: target "nonexistent"/);
  const viaUmbrella = await captureProcess(() => umbrellaMain(['eval', ...std, 'work', 'vault', 'qubes.Gpg']));
  t.equal(viaUmbrella.value, 0);
  t.equal(viaUmbrella.stdout, `allow to vault (rule ${userFile}:2)\n`);
});

t.test('evalStatus and decisionText', async (t) => {
  const c = captureIo();
  await runEval({ path: [p.policy], systemInfo: p.si, source: 'work', target: 'vault', service: 'qubes.Gpg', json: false }, c.io);
  t.equal(c.out, `allow to vault (rule ${userFile}:2)\n`);
  const base = {
    service: 's',
    argument: '+',
    source: 'a',
    requestedTarget: 'b',
    rule: null,
    warnings: [],
    requestedSource: null,
  };
  t.equal(evalStatus({ ...base, result: 'allow', target: 'b', destination: { kind: 'dom0' }, user: null, autostart: true, notify: false }), 0);
  t.equal(evalStatus({ ...base, result: 'ask', targets: ['b'], defaultTarget: null, user: null, autostart: true, notify: false }), 3);
  t.equal(evalStatus({ ...base, result: 'deny', kind: 'no-rule', reason: 'r', notify: true }), 1);
  t.equal(
    decisionText({ ...base, result: 'allow', target: 'b', destination: { kind: 'dom0' }, user: 'u', autostart: false, notify: true }),
    'allow to b user=u autostart=no notify=yes',
  );
  t.equal(decisionText({ ...base, result: 'deny', kind: 'no-rule', reason: 'no matching rule found', notify: true }), 'deny: no matching rule found');
  t.equal(decisionText({ ...base, result: 'ask', targets: ['b', 'c'], defaultTarget: null, user: null, autostart: true, notify: false }), 'ask: choose from b, c');
});

const REAL_POLICY = fs.existsSync('/etc/qubes/policy.d') && 'this machine has a real /etc/qubes/policy.d';
t.test('default policy paths are used without --path', { skip: REAL_POLICY }, async (t) => {
  // Without /etc/qubes/policy.d (a test machine), loading fails closed and nothing is decided.
  const r = await evalCli(['--json', '--system-info', p.si, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 4);
  const o = parseDecision(t, r.out);
  t.match(String(o['reason']), '/etc/qubes/policy.d');
  t.notMatch(String(o['reason']), '/run/qubes/policy.d', 'a missing /run/qubes/policy.d is skipped silently');
});

// ---------------------------------------------------------------- explain

async function explainCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const c = captureIo(env);
  const status = await umbrellaMain(['explain', ...args], c.io);
  return { status, out: c.out, err: c.err };
}

t.test('one way to show a location: as the command line named the directory, included files too, each once', async (t) => {
  const real = t.testdir({
    'policy.d': { '30-a.policy': 'svc * work vault deny\n!include inc/x\n', inc: { x: 'svc * work sys-relay deny\nsvc * work personal allow\n' } },
  });
  // a relative --path (the loader names included files by their real, absolute paths)
  const rel = path.relative(process.cwd(), path.join(real, 'policy.d'));
  const std = ['--path', rel, '--legacy-path', p.legacy, '--system-info', p.si];
  const e = await explainCli([...std, 'work', 'personal', 'svc']);
  t.match(e.out, new RegExp(`^deciding rule: ${rel}/inc/x:2$`, 'm'));
  t.match(e.out, new RegExp(`^  ${rel}/30-a\\.policy:1: svc \\* work vault deny$`, 'm'));
  t.match(e.out, new RegExp(`^  ${rel}/inc/x:1: svc \\* work sys-relay deny$`, 'm'));
  t.notMatch(e.out, new RegExp(real.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'no absolute path anywhere');
  let r = await evalCli([...std, 'work', 'sys-relay', 'svc']);
  t.equal(r.out, `deny: denied by policy ${rel}/inc/x:1\n`, 'an included rule as given, named once');
  r = await evalCli([...std, 'work', 'personal', 'svc']);
  t.equal(r.out, `allow to personal (rule ${rel}/inc/x:2)\n`);
  // JSON names the file as the evaluator does (and as Qubes does)
  r = await evalCli(['--json', ...std, 'work', 'personal', 'svc']);
  t.match(parseDecision(t, r.out), { rule: { file: fs.realpathSync(path.join(real, 'policy.d/inc/x')), line: 2 } });
});

t.test('explain: allow: request, decision and deciding rule; exit 0', async (t) => {
  const r = await explainCli([...std, 'work', 'personal', 'qubes.VMShell']);
  t.equal(r.status, 0);
  t.equal(r.err, '');
  const lines = r.out.split('\n');
  t.equal(lines[0], 'request:  work -> personal  qubes.VMShell');
  t.equal(lines[1], '          service qubes.VMShell, argument +, target personal');
  t.equal(lines[2], 'decision: allow, to personal as user root');
  t.ok(r.out.includes(`deciding rule: ${userFile}:7\n    qubes.VMShell * work personal allow user=root\n`));
  t.ok(r.out.includes('rules passed over before it (0):\n  none\n'));
  t.match(r.out, /\(\d+ rules for other services were not considered\)/);
  t.ok(r.out.endsWith('\n') && !r.out.endsWith('\n\n'), 'ends with exactly one newline');
});

t.test('explain: deny: rules passed over, each with the column that did not match; exit 1', async (t) => {
  const r = await explainCli([...std, 'personal', 'vault', 'qubes.Filecopy']);
  t.equal(r.status, 1);
  t.match(r.out, /^decision: deny: /m);
  t.ok(r.out.includes(`deciding rule: ${userFile}:6\n    qubes.Filecopy * @anyvm @anyvm deny\n`));
  t.ok(r.out.includes('rules passed over before it (3):'));
  for (const line of [3, 4, 5]) t.ok(r.out.includes(`  ${userFile}:${line}: qubes.Filecopy * work `), `rule ${line} listed`);
  t.equal(r.out.split('source: personal is not work').length - 1, 3, 'source column named for each');
});

t.test('explain: target and argument mismatches are named', async (t) => {
  let r = await explainCli([...std, '--assume-yes-for-ask', 'work', 'personal', 'qubes.Filecopy']);
  t.equal(r.status, 0);
  t.match(r.out, /^decision: allow, to personal$/m);
  t.ok(
    r.out.includes(
      `  ${userFile}:3: qubes.Filecopy * work @default ask default_target=personal\n      target: the caller named a target (personal); @default matches only calls without one\n`,
    ),
  );
  r = await explainCli([...std, 'work', 'personal', 'qubes.Notes+other']);
  t.equal(r.status, 1);
  t.match(r.out, /argument: \+todo is not \+other/);
  t.match(r.out, /no matching rule/);
});

t.test('explain: ask: where each offered target came from; exit 3', async (t) => {
  const r = await explainCli([...std, 'work', '', 'qubes.Filecopy']);
  t.equal(r.status, 3);
  t.equal(r.out.split('\n')[0], "request:  work -> '' (none)  qubes.Filecopy");
  t.match(r.out, /^          service qubes.Filecopy, argument \+, target @default \(no target named\)$/m);
  t.match(r.out, /^decision: ask, offering @dispvm:default-dvm, personal; default personal$/m);
  t.ok(r.out.includes(`deciding rule: ${userFile}:3\n`));
  t.ok(r.out.includes('offered targets, collected from every rule for this call (last rule first):\n'));
  t.ok(r.out.includes(`  + @dispvm:default-dvm    ${userFile}:5: qubes.Filecopy * work @dispvm:default-dvm allow\n`));
  t.ok(r.out.includes(`  + personal    ${userFile}:4: qubes.Filecopy * work personal ask\n`));
  t.ok(r.out.indexOf('+ @dispvm:default-dvm') < r.out.indexOf('+ personal'), 'last rule first');
});

t.test('explain: passed-over rules are limited to 50 unless --all', async (t) => {
  const manyFile = path.join(p.dir, 'many.d', '50-many.policy');
  let r = await explainCli(['--path', path.join(p.dir, 'many.d'), '--system-info', p.si, 'work', 'personal', 'qubes.Many']);
  t.equal(r.status, 0);
  t.ok(r.out.includes(`deciding rule: ${manyFile}:${MANY + 1}\n`));
  t.ok(r.out.includes(`rules passed over before it (${MANY}):`));
  t.ok(r.out.includes(`  ... ${MANY - 50} more (use --all to list them)`));
  t.equal(r.out.split('target: personal is not other').length - 1, 50);
  r = await explainCli(['--all', '--path', path.join(p.dir, 'many.d'), '--system-info', p.si, 'work', 'personal', 'qubes.Many']);
  t.equal(r.out.split('target: personal is not other').length - 1, MANY);
  t.notMatch(r.out, /more \(use --all/);
});

t.test('explain: invalid request and broken policy: the reason, exit 1', async (t) => {
  let r = await explainCli([...std, 'work', '@anyvm', 'qubes.Gpg']);
  t.equal(r.status, 1);
  t.equal(r.out, "request:  work -> @anyvm  qubes.Gpg\ndecision: deny: bad request: invalid intendedtarget token: '@anyvm'\n");

  r = await explainCli(['--path', p.bad, '--system-info', p.si, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 1);
  t.match(r.out, new RegExp(`^decision: deny: .*${p.bad}/20-bad\\.policy:2`, 'm'));
});

t.test('explain: unknown target: warning line in the explanation', async (t) => {
  const r = await explainCli([...std, 'work', 'nonexistent', 'qubes.Gpg']);
  t.equal(r.status, 1);
  t.match(r.out, /^warning: {2}target "nonexistent" does not exist, using @default instead$/m);
  t.match(r.out, /target: @default \(no target named\) is not vault/);
});

t.test('explain: system info or policy directory problems: one line on stderr naming the file, could not decide (exit 4)', async (t) => {
  let r = await explainCli(['--path', p.policy, '--system-info', p.missing, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 4);
  t.equal(r.out, '');
  t.equal(r.err, `qrexec-policy explain: could not decide: cannot read system info ${p.missing}: does not exist\n`);
  r = await explainCli(['--path', p.policy, '--log-level', 'warn', 'work', 'vault', 'qubes.Gpg'], {
    QREXEC_POLICY_SYSTEM_INFO: p.siNotJson,
  });
  t.equal(r.status, 4);
  t.match(r.err, new RegExp(`^qrexec-policy explain: could not decide: system info ${p.siNotJson}: not valid JSON`));
  r = await explainCli(['--path', path.join(p.dir, 'nowhere'), '--system-info', p.si, 'work', 'vault', 'qubes.Gpg']);
  t.same([r.status, r.out, r.err], [4, '', `qrexec-policy explain: could not decide: ${path.join(p.dir, 'nowhere')}: cannot read the policy directory: does not exist\n`]);
});

t.test('eval and explain take SOURCE TARGET SERVICE after `--`, as qrexec-policy-exec does', async (t) => {
  const plain = await evalCli(['--json', ...std, 'work', 'vault', 'qubes.Gpg']);
  t.equal(plain.status, 0);
  for (const split of [0, 1, 2, 3]) {
    const words = ['work', 'vault', 'qubes.Gpg'];
    const r = await evalCli(['--json', ...std, ...words.slice(0, split), '--', ...words.slice(split)]);
    t.same(r, plain, `-- after ${split} of the three`);
  }
  // after `--` a word that looks like an option is still a value (and here an invalid target)
  let r = await evalCli([...std, '--', 'work', '--json', 'qubes.Gpg']);
  t.equal(r.status, 1);
  t.match(r.out, /^deny: /);
  r = await evalCli([...std, '--', 'work', 'vault', 'qubes.Gpg', 'extra']);
  t.equal(r.status, 2);
  t.equal(r.err, `qrexec-policy eval: unexpected argument "extra"\nRun 'qrexec-policy eval --help' for usage.\n`);
  r = await evalCli([...std, '--', 'work', 'vault']);
  t.equal(r.status, 2);
  t.match(r.err, /^qrexec-policy eval: needs SOURCE TARGET SERVICE/);

  const e = await explainCli([...std, '--', 'work', 'vault', 'qubes.Gpg']);
  t.equal(e.status, 0);
  t.match(e.out, /^decision: allow, to vault$/m);
  const short = await explainCli([...std, 'work', '--', 'vault']);
  t.equal(short.status, 2);
  t.match(short.err, /^qrexec-policy explain: needs SOURCE TARGET SERVICE/);
});

t.test('explain: usage errors exit 2', async (t) => {
  const r = await explainCli([...std, 'work', 'vault']);
  t.equal(r.status, 2);
  t.equal(r.err, "qrexec-policy explain: needs SOURCE TARGET SERVICE[+ARG]\nRun 'qrexec-policy explain --help' for usage.\n");
  t.equal(r.out, '');
});

t.test('explain: a usage error prints only the usage message (no handler run)',
  async (t) => {
    const r = await explainCli([...std, 'work', 'vault']);
    t.notMatch(r.err, /Cannot read properties of undefined/);
  },
);

// ---------------------------------------------------------------- batch

let n = 0;
/** Write a batch file and run `eval --json ...opts --batch FILE`. */
async function batch(lines: string | string[], opts: string[] = ['--path', p.policy, '--system-info', p.si], env: NodeJS.ProcessEnv = {}) {
  const file = path.join(p.dir, `batch-${n++}.jsonl`);
  fs.writeFileSync(file, typeof lines === 'string' ? lines : lines.map((l) => l + '\n').join(''));
  const c = captureIo(env);
  const status = await umbrellaMain(['eval', '--json', ...opts, '--batch', file], c.io);
  const outLines = c.out.split('\n');
  return { status, out: c.out, err: c.err, decisions: outLines.slice(0, -1).map((l) => JSON.parse(l) as Record<string, unknown>), last: outLines.at(-1) };
}

const req = (o: Record<string, unknown>) => JSON.stringify(o);
const gpg = { source: 'work', target: 'vault', service: 'qubes.Gpg' };

function checkShape(t: Test, d: Record<string, unknown>) {
  const keys = Object.keys(d);
  t.same(keys.slice(0, JSON_KEYS.length), JSON_KEYS);
  if (d['result'] === 'deny') t.equal(keys.at(-1), 'reason');
}

t.test('batch: one decision line per input line, in order, same objects as single eval', async (t) => {
  const lines = [
    req(gpg),
    req({ source: 'work', target: '', service: 'qubes.Filecopy' }),
    req({ source: 'personal', target: 'vault', service: 'qubes.Filecopy' }),
    req({ source: 'work', target: '@adminvm', service: 'qubes.GetDate' }),
  ];
  const r = await batch(lines);
  t.equal(r.status, 0);
  t.equal(r.err, '');
  t.equal(r.last, '', 'output ends with a newline');
  t.same(
    r.decisions.map((d) => d['result']),
    ['allow', 'ask', 'deny', 'allow'],
  );
  for (const d of r.decisions) checkShape(t, d);
  // each line is byte-identical to the single-request --json output
  for (const [i, line] of lines.entries()) {
    const q = JSON.parse(line) as { source: string; target: string; service: string };
    const c = captureIo();
    await runEval({ path: [p.policy], systemInfo: p.si, json: true, ...q }, c.io);
    t.equal(r.out.split('\n')[i] + '\n', c.out, `line ${i + 1} equals eval --json`);
  }
  t.match(r.decisions[1], { targets: ['@dispvm:default-dvm', 'personal'], default_target: 'personal', rule: { file: userFile, line: 3 } });
});

t.test('batch: bad lines give a deny line with a reason, never an abort', async (t) => {
  const lines = [
    'not json',
    '',
    '[1, 2]',
    'null',
    '"a string"',
    req({ source: 'work', target: 'vault' }),
    req({ source: 'work', service: 'qubes.Gpg' }),
    req({ target: 'vault', service: 'qubes.Gpg' }),
    req({ source: 1, target: 'vault', service: 'qubes.Gpg' }),
    req({ ...gpg, service: null }),
    req({ ...gpg, path: 5 }),
    req({ ...gpg, path: [p.policy, 7] }),
    req({ ...gpg, legacy_path: 5 }),
    req({ ...gpg, system_info: true }),
    req({ ...gpg, requested_source: ['x'] }),
    req({ ...gpg, assume_yes_for_ask: 'yes' }),
    req(gpg), // a good line after all that
  ];
  const r = await batch(lines);
  t.equal(r.status, 0);
  t.equal(r.decisions.length, lines.length, 'one line out per line in');
  for (const [i, d] of r.decisions.slice(0, -1).entries()) {
    t.equal(d['result'], 'deny', `line ${i + 1}: ${lines[i]}`);
    t.type(d['reason'], 'string');
    t.equal(d['rule'], null);
    checkShape(t, d);
  }
  t.match(r.decisions[0], { reason: /not valid JSON/ });
  t.match(r.decisions[1], { reason: /not valid JSON/ }, 'blank line');
  t.match(r.decisions[2], { reason: /not a JSON object/ });
  t.match(r.decisions[5], { reason: /"service"/ });
  t.match(r.decisions[6], { reason: /"target"/ });
  t.match(r.decisions[7], { reason: /"source"/ });
  t.match(r.decisions[10], { reason: /"path"/ });
  t.match(r.decisions[11], { reason: /"path"/ });
  t.match(r.decisions[12], { reason: /"legacy_path"/ });
  t.match(r.decisions[13], { reason: /"system_info"/ });
  t.match(r.decisions[14], { reason: /"requested_source"/ });
  t.match(r.decisions[15], { reason: /"assume_yes_for_ask"/ });
  t.match(r.decisions.at(-1), { result: 'allow', target: 'vault' });
});

t.test('batch: invalid requests inside good lines are denied like single evals', async (t) => {
  const r = await batch([
    req({ source: 'work', target: '@anyvm', service: 'qubes.Gpg' }),
    req({ source: 'work', target: 'vault', service: '' }),
    req({ source: 'work', target: 'vault', service: 'qubes.Gpgé' }),
  ]);
  t.same(
    r.decisions.map((d) => d['result']),
    ['deny', 'deny', 'deny'],
  );
  t.match(r.decisions[0], { requested_target: null, reason: /@anyvm/ });
  t.match(r.decisions[1], { reason: /empty service/ });
});

t.test('batch: CRLF line ends, a missing final newline, unknown keys and null options', async (t) => {
  const r = await batch(`${req(gpg)}\r\n\r\n${req({ ...gpg, comment: 'ignored', legacy_path: null, system_info: null, requested_source: null })}`);
  t.equal(r.decisions.length, 3);
  t.match(r.decisions[0], { result: 'allow', target: 'vault' });
  t.match(r.decisions[1], { result: 'deny', reason: /not valid JSON/ }, 'a blank CRLF line');
  t.match(r.decisions[2], { result: 'allow', target: 'vault' });
  // an empty file: no output at all
  const e = await batch('');
  t.equal(e.status, 0);
  t.equal(e.out, '');
});

t.test('batch: per-line path / legacy_path / system_info / assume_yes_for_ask / requested_source override the command line', async (t) => {
  const r = await batch([
    req(gpg), // command line: policy.d -> allow
    req({ ...gpg, path: p.run }), // run.d -> deny
    req({ ...gpg, path: [p.run, p.policy] }), // run.d shadows policy.d's 30-user.policy
    req({ ...gpg, path: [p.policy, p.run] }),
    req({ source: 'work', target: 'vault', service: 'qubes.Foo', path: p.compat, legacy_path: p.legacy }),
    req({ source: 'work', target: 'vault', service: 'qubes.Foo', path: p.compat }), // command-line legacy path: none given -> default, missing
    req({ ...gpg, system_info: p.missing }),
    req({ ...gpg, system_info: p.siNotJson }),
    req({ source: 'work', target: 'personal', service: 'qubes.Filecopy', assume_yes_for_ask: true }),
    req({ source: 'work', target: 'personal', service: 'qubes.Filecopy' }),
    req({ source: 'sys-relay', target: 'vault', service: 'qubes.Relayed', requested_source: 'remote1' }),
    req(gpg), // back to the command line's sources
  ]);
  t.equal(r.decisions.length, 12);
  t.match(r.decisions[0], { result: 'allow', rule: { file: userFile, line: 2 } });
  t.match(r.decisions[1], { result: 'deny', rule: { file: `${p.run}/30-user.policy`, line: 1 } });
  t.match(r.decisions[2], { result: 'deny', rule: { file: `${p.run}/30-user.policy`, line: 1 } });
  t.match(r.decisions[3], { result: 'allow', rule: { file: userFile, line: 2 } });
  t.match(r.decisions[4], { result: 'allow', rule: { file: `${p.legacy}/qubes.Foo`, line: 1 } });
  t.match(r.decisions[5], { result: 'deny', rule: null });
  t.match(r.decisions[6], { result: 'deny', rule: null, reason: new RegExp(`${p.missing}`) });
  t.match(r.decisions[7], { result: 'deny', rule: null, reason: new RegExp(`${p.siNotJson}`) });
  t.match(r.decisions[8], { result: 'allow', target: 'personal' });
  t.match(r.decisions[9], { result: 'ask' });
  t.match(r.decisions[10], { result: 'allow', target: 'vault', requested_source: 'remote1' });
  t.match(r.decisions[11], { result: 'allow', rule: { file: userFile, line: 2 } });
});

t.test(
  'batch: a system-info failure line equals the single eval --json answer (requested_source kept)',
  async (t) => {
    const r = await batch([req({ source: 'sys-relay', target: 'vault', service: 'qubes.Relayed', requested_source: 'remote1', system_info: p.missing })]);
    const c = captureIo();
    await runEval({ path: [p.policy], systemInfo: p.missing, json: true, source: 'sys-relay', target: 'vault', service: 'qubes.Relayed', requestedSource: 'remote1' }, c.io);
    t.equal(r.out, c.out);
  },
);

t.test('batch: command-line options are the defaults for every line', async (t) => {
  let r = await batch(
    [req({ source: 'work', target: 'personal', service: 'qubes.Filecopy' }), req({ source: 'work', target: 'personal', service: 'qubes.Filecopy', assume_yes_for_ask: false })],
    ['--assume-yes-for-ask', '--path', p.policy, '--system-info', p.si],
  );
  t.same(
    r.decisions.map((d) => d['result']),
    ['allow', 'ask'],
  );
  r = await batch([req({ source: 'sys-relay', target: 'vault', service: 'qubes.Relayed' })], [
    '--requested-source',
    'remote1',
    '--path',
    p.policy,
    '--system-info',
    p.si,
  ]);
  t.match(r.decisions[0], { result: 'allow', requested_source: 'remote1' });
  r = await batch([req({ source: 'work', target: 'vault', service: 'qubes.Foo' })], [
    '--legacy',
    '--legacy-path',
    p.legacy,
    '--system-info',
    p.si,
  ]);
  t.match(r.decisions[0], { result: 'allow', rule: { file: `${p.legacy}/qubes.Foo`, line: 1 } });
  r = await batch([req({ source: 'work', target: 'vault', service: 'qubes.Foo', path: p.policy })], ['--path', p.compat, '--legacy-path', p.legacy, '--system-info', p.si]);
  t.match(r.decisions[0], { result: 'deny', rule: null }, 'path from the line, legacy path from the command line');
  // system info from the environment
  r = await batch([req(gpg)], ['--path', p.policy, '--json'], { QREXEC_POLICY_SYSTEM_INFO: p.si });
  t.match(r.decisions[0], { result: 'allow' });
});

t.test('batch: system info: missing everywhere -> qubesd, which is not there: every line denied', async (t) => {
  const r = await batch([req(gpg), req(gpg), req({ ...gpg, system_info: p.si })], ['--path', p.policy, '--qubesd-internal-socket', path.join(p.dir, 'nosock')], {
    QUBESD_INTERNAL_SOCKET: path.join(p.dir, 'nosock'),
  });
  t.equal(r.status, 0);
  t.match(r.decisions[0], { result: 'deny', reason: /^no system info: give --system-info FILE or run in dom0 \(cannot talk to qubesd/ });
  t.match(r.decisions[1], { result: 'deny', reason: /^no system info/ });
  t.match(r.decisions[2], { result: 'allow' });
});

t.test('batch: a broken policy denies every line, naming file:line', async (t) => {
  const r = await batch([req(gpg), req({ ...gpg, path: p.policy }), req({ ...gpg, path: p.bad })], ['--path', p.bad, '--system-info', p.si]);
  t.match(r.decisions[0], { result: 'deny', rule: null, reason: new RegExp(`${p.bad}/20-bad\\.policy:2`) });
  t.match(r.decisions[1], { result: 'allow' });
  t.match(r.decisions[2], { result: 'deny', reason: /20-bad\.policy:2/ });
});

t.test('batch: many lines: output is complete and in order', async (t) => {
  const N = 1300;
  const lines = Array.from({ length: N }, (_, i) => req(i % 2 ? gpg : { source: 'work', target: 'vault', service: `svc${i}` }));
  const r = await batch(lines);
  t.equal(r.decisions.length, N);
  t.ok(r.decisions.every((d, i) => (i % 2 ? d['result'] === 'allow' : d['service'] === `svc${i}` && d['result'] === 'deny')));
});

t.test('batch: an unreadable batch file: exit 2, one line on stderr', async (t) => {
  const c = captureIo();
  const status = await umbrellaMain(['eval', '--json', '--path', p.policy, '--batch', p.missing], c.io);
  t.equal(status, 2);
  t.equal(c.out, '');
  t.equal(c.err, `qrexec-policy eval: cannot read ${p.missing}: does not exist\n`);
  const c2 = captureIo();
  t.equal(await runBatch({ batch: p.dir }, c2.io), 2, 'a directory');
  t.match(c2.err, /^qrexec-policy eval: cannot read .*: is a directory\n$/);
  // the default io: the process's stderr
  const r = await captureProcess(() => runBatch({ batch: p.missing }));
  t.equal(r.value, 2);
  t.equal(r.stdout, '');
  t.equal(r.stderr, `qrexec-policy eval: cannot read ${p.missing}: does not exist\n`);
});

t.test('batch: --batch without --json still prints JSON lines', async (t) => {
  const file = path.join(p.dir, 'plain.jsonl');
  fs.writeFileSync(file, req(gpg) + '\n');
  const c = captureIo();
  const status = await umbrellaMain(['eval', '--path', p.policy, '--system-info', p.si, '--batch', file], c.io);
  t.equal(status, 0);
  t.match(JSON.parse(c.out), { result: 'allow' });
});

// ---------------------------------------------------------------- defensive paths
t.test('runEval: a system info failure without a source still gives a complete decision', async (t) => {
  const c = captureIo();
  t.equal(await runEval({ systemInfo: p.missing, json: true }, c.io), 4);
  t.match(JSON.parse(c.out), { result: 'deny', source: '', requested_target: null, rule: null });
});

t.test('batch from standard input, and read errors without an errno code (node:fs mocked)', async (t) => {
  const line = '{"source":"work","target":"vault","service":"qubes.Gpg"}\n';
  const { runBatch: mockedBatch } = await t.mockImport<typeof import('../../src/eval/batch.js')>('../../src/eval/batch.js', {
    'node:fs': {
      ...fs,
      readFileSync: (f: unknown, enc?: unknown) => {
        if (f === 0) return line + line;
        if (f === 'weird') throw new Error('weird failure');
        return (fs.readFileSync as (f: unknown, e?: unknown) => unknown)(f, enc);
      },
    },
  });
  const c = captureIo();
  t.equal(await mockedBatch({ batch: '-', path: [p.policy], systemInfo: p.si }, c.io), 0);
  t.equal(c.out.split('\n').filter((l) => l.includes('"result":"allow"')).length, 2);
  const c2 = captureIo();
  t.equal(await mockedBatch({ batch: 'weird' }, c2.io), 2);
  t.equal(c2.err, 'qrexec-policy eval: cannot read weird: weird failure\n');
});

t.test('sources: unexpected errors are not mistaken for system-info problems', async (t) => {
  const { obtainSystemInfo, readSystemInfoFile } = await t.mockImport<typeof import('../../src/io/sources.js')>(
    '../../src/io/sources.js',
    {
      'node:fs': {
        ...fs,
        statSync: () => ({ size: 10 }),
        readFileSync: () => {
          throw new Error('weird failure');
        },
      },
      // the file is read through the policy files' reader
      '../../src/parser/file-source.js': {
        ...(await import('../../src/parser/file-source.js')),
        readFileText: () => {
          throw new Error('weird failure');
        },
      },
      '../../src/exec/qubesd.js': {
        ...(await import('../../src/exec/qubesd.js')),
        qubesdCall: async () => {
          throw new TypeError('a bug');
        },
      },
    },
  );
  t.throws(() => readSystemInfoFile('x.json'), { message: 'cannot read system info x.json: weird failure' });
  await t.rejects(obtainSystemInfo({ qubesdInternalSocket: 'nowhere' }, {}), TypeError);
});

t.test('batch: an internal error is not turned into a deny line (runMain reports it)', async (t) => {
  const file = path.join(p.dir, 'one.jsonl');
  fs.writeFileSync(file, '{"source":"work","target":"vault","service":"qubes.Gpg"}\n');
  await t.rejects(runBatch({ batch: file, path: [p.policy] }, { out: () => undefined, err: () => undefined, env: throwingEnv({ ownKeys: true }) }), {
    message: 'env keys exploded',
  });
});

t.test('eval and explain: an internal error propagates (runMain reports it), it is not a deny', async (t) => {
  const env = throwingEnv({ keys: ['QREXEC_POLICY_SYSTEM_INFO'] });
  await t.rejects(runEval({ path: [p.policy], source: 'work', target: 'vault', service: 'qubes.Gpg' }, { out: () => undefined, err: () => undefined, env }), {
    message: 'env.QREXEC_POLICY_SYSTEM_INFO exploded',
  });
  const c = captureIo();
  c.io.env = env;
  // not a usage error: it reaches runMain, which reports an internal error (exit 1)
  await t.rejects(umbrellaMain(['explain', '--path', p.policy, '--log-level', 'warn', 'work', 'vault', 'qubes.Gpg'], c.io), {
    message: 'env.QREXEC_POLICY_SYSTEM_INFO exploded',
  });
  t.equal(c.out, '');
});

t.test('batch: an empty path list means the command line --path', async (t) => {
  const r = await batch([req({ ...gpg, path: [] })]);
  t.equal(r.decisions.length, 1);
  t.match(r.decisions[0], { result: 'allow', rule: { file: userFile } });
});

t.test('a single-value option given twice is a usage error', async (t) => {
  for (const opt of ['--system-info', '--legacy-path', '--qubesd-internal-socket', '--log-level']) {
    const r = await evalCli([...std, opt, 'warn', opt, 'info', 'work', 'vault', 'qubes.Gpg']);
    t.equal(r.status, 2, opt);
    t.match(r.err, `option ${opt} given more than once`);
  }
  // every command and drop-in checks its own single-value options the same way; lists may repeat
  for (const argv of [
    ['convert', '--legacy-path', 'x', '--legacy-path', 'y'],
    ['graph', '--output', 'a', '--output', 'b'],
    ['list', '--format', 'json', '--format', 'text'],
    ['lint', '--format', 'json', '--format', 'text', 'x'],
  ]) {
    const c = captureIo();
    t.equal(await umbrellaMain(argv, c.io), 2, argv.join(' '));
    t.equal(c.err, `qrexec-policy ${argv[0]}: option ${argv[1]} given more than once\nRun 'qrexec-policy ${argv[0]} --help' for usage.\n`);
  }
  const g = captureIo();
  t.equal(await standaloneMain('qrexec-policy-graph', graphCommand, ['--output', 'a', '--output', 'b'], g.io), 2);
  t.match(g.err, /^qrexec-policy-graph: option --output given more than once/);
  const lists = await evalCli(['--path', p.policy, '--path', p.policy, '--system-info', p.si, 'work', 'vault', 'qubes.Gpg']);
  t.equal(lists.status, 0, '--path may repeat');
});

t.test('unreadablePolicy: an R4.0 directory that is there but cannot be listed', async (t) => {
  const { unreadablePolicy } = await import('../../src/io/sources.js');
  const { LegacyPolicy } = await import('../../src/policy/policy.js');
  const { FileSourceError, nodeFileSource } = await import('../../src/parser/file-source.js');
  const locked = { ...nodeFileSource, kind: () => 'dir' as const, list: (d: string): string[] => { throw new FileSourceError(d, 'permission denied', 'io'); } };
  t.equal(unreadablePolicy(new LegacyPolicy({ legacyPath: '/x' }), locked), 'cannot read legacy policy directory /x: permission denied');
  t.equal(unreadablePolicy(new LegacyPolicy({ legacyPath: p.legacy })), null);
});

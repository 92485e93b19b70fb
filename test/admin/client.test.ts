/**
 * `qubes-policy`, the Policy Admin API client: from a qube through a fake
 * qrexec-client-vm (test/admin/fixtures) that records its argv and stdin and
 * then runs the real qubes-policy-admin, as qrexec would; in dom0, served
 * in process. Its real argument parser (standaloneMain), the usage errors,
 * refusals by the service and by qrexec, the token options; and the bundle
 * once as a real process.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { standaloneMain } from '../../src/cli/standalone.js';
import { command } from '../../src/cli/commands/qubes-policy.js';
import { runPolicyCli, type PolicyCliArgs } from '../../src/admin/policy-cli.js';
import { callProblem, CallFailed, chooseTransport, describeProblem, DEFAULT_QREXEC_CLIENT_VM, PolicyClient, viaQrexecClientVm } from '../../src/admin/client.js';
import { tokenOf } from '../../src/admin/token.js';
import { captureIo } from '../cli/fixtures/cli.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FAKE = path.join(ROOT, 'test/admin/fixtures/fake-qrexec-client-vm');
const BIN = path.join(ROOT, 'dist/bin/qubes-policy.js');

const dir = t.testdir({
  'policy.d': { '30-user.policy': 'qubes.Gpg * work vault allow\n', '50-x.policy': '', include: { inc: '' } },
  legacy: {},
  'script-fails': '#!/bin/sh\nexit 7\n',
});
fs.chmodSync(path.join(dir, 'script-fails'), 0o755);
const LOG = path.join(dir, 'calls.log');
const env = {
  PATH: process.env['PATH'],
  QREXEC_POLICY_DIR: path.join(dir, 'policy.d'),
  QREXEC_POLICY_LEGACY_DIR: path.join(dir, 'legacy'),
  QREXEC_POLICY_ADMIN_LOG: path.join(dir, 'admin.log'),
  FAKE_QREXEC_VM_LOG: LOG,
};
/** The fake's log: its arguments and its stdin, per call. */
const calls = () =>
  fs
    .readFileSync(LOG, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => {
      const f = l.split('\t');
      return { argv: f.slice(0, -1), stdin: Buffer.from(f.at(-1)!, 'base64').toString('utf8') };
    });

/** Through the real parser; from a qube unless `dom0`. */
async function cli(args: string[], opts: { dom0?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  const c = captureIo({ ...env, ...opts.env });
  const status = await standaloneMain('qubes-policy', command, opts.dom0 ? args : ['--qrexec-client-vm', FAKE, ...args], c.io);
  return { status, out: c.out, err: c.err };
}

/** runPolicyCli with a given standard input. */
async function withStdin(a: Partial<PolicyCliArgs> & Pick<PolicyCliArgs, 'method'>, stdin: string, opts: { dom0?: boolean } = {}) {
  const c = captureIo(env);
  const status = await runPolicyCli(
    { name: undefined, token: undefined, withToken: false, qrexecClientVm: opts.dom0 ? undefined : FAKE, ...a },
    c.io,
    () => Buffer.from(stdin),
  );
  return { status, out: c.out, err: c.err };
}

t.test('from a qube: each option is one call of qrexec-client-vm -- dom0 SERVICE+ARG, the payload on its stdin', async (t) => {
  fs.rmSync(LOG, { force: true });
  t.same(await cli([]), { status: 0, out: '30-user\n50-x\n', err: '' }, 'list is the default');
  t.same(await cli(['-l', 'include/']), { status: 0, out: 'inc\n', err: '' });
  t.same(await cli(['--list', 'include']), { status: 0, out: 'inc\n', err: '' });
  t.same(await cli(['-g', '30-user']), { status: 0, out: 'qubes.Gpg * work vault allow\n', err: '' });
  const token = tokenOf(Buffer.from('qubes.Gpg * work vault allow\n'));
  t.same(await cli(['-g', '30-user.policy', '--with-token']), { status: 0, out: `${token}\nqubes.Gpg * work vault allow\n`, err: '' });
  t.same(await withStdin({ method: 'replace', name: '30-user', token }, 'qubes.Gpg * work vault deny\n'), { status: 0, out: '', err: '' });
  t.same(calls().map((c) => c.argv), [
    ['--', 'dom0', 'policy.List'],
    ['--', 'dom0', 'policy.include.List'],
    ['--', 'dom0', 'policy.include.List'],
    ['--', 'dom0', 'policy.Get+30-user'],
    ['--', 'dom0', 'policy.Get+30-user'],
    ['--', 'dom0', 'policy.Replace+30-user'],
  ]);
  t.equal(calls()[5]!.stdin, `${token}\nqubes.Gpg * work vault deny\n`, 'token line, then the content');
  // the token of the earlier get no longer matches: refused, not overwritten
  const late = await withStdin({ method: 'replace', name: '30-user', token }, 'qubes.Gpg * @anyvm vault allow\n');
  t.same(late, { status: 1, out: '', err: 'qubes-policy: token mismatch: 30-user changed since it was read (PolicyAdminTokenException)\n' });
  t.match(fs.readFileSync(env.QREXEC_POLICY_ADMIN_LOG, 'utf8'), /policy\.Replace\+30-user \(mgmt\): replaced /);
  // without --token: done, and said
  const any = await withStdin({ method: 'replace', name: 'include/inc' }, 'qubes.X * work vault allow\n');
  t.same(any, { status: 0, out: '', err: 'qubes-policy: no --token: replacing whatever is there now (get one with --get --with-token)\n' });
  t.equal(calls().at(-1)!.stdin, 'any\nqubes.X * work vault allow\n');
  t.same(await cli(['-d', '50-x', '--token', tokenOf(Buffer.alloc(0))]), { status: 0, out: '', err: '' });
  t.equal(calls().at(-1)!.stdin, tokenOf(Buffer.alloc(0)), 'Remove: the token alone');
  const rm = await cli(['-d', 'include/inc']);
  t.same(rm, { status: 0, out: '', err: 'qubes-policy: no --token: removing whatever is there now (get one with --get --with-token)\n' });
});

t.test('refusals: by the service (its class), by qrexec (its status), a file that is not there', async (t) => {
  const syntax = await withStdin({ method: 'replace', name: '40-bad' }, 'qubes.Gpg * work\n');
  t.equal(syntax.status, 1);
  t.match(syntax.err, /qubes-policy: change refused, the policy would not load: .*40-bad\.policy:1: wrong number of fields \(PolicyAdminSyntaxException\)\n$/);
  t.same(await cli(['-g', 'nothing']), { status: 1, out: '', err: 'qubes-policy: nothing does not exist\n' });
  const denied = await cli(['-l'], { env: { FAKE_QREXEC_VM_REFUSE: '1' } });
  t.same(denied, { status: 1, out: '', err: 'qubes-policy: policy.List failed (exit status 126): Request refused\n' });
  const fails = await cli(['--qrexec-client-vm', path.join(dir, 'script-fails'), '-l'], { dom0: true });
  t.same(fails, { status: 1, out: '', err: 'qubes-policy: policy.List failed (exit status 7)\n' });
  const missing = await cli(['--qrexec-client-vm', path.join(dir, 'nope'), '-l'], { dom0: true });
  t.same(missing, { status: 1, out: '', err: `qubes-policy: cannot run ${dir}/nope: does not exist\n` });
});

t.test('usage errors: exit 2 before any call', async (t) => {
  fs.rmSync(LOG, { force: true });
  for (const [args, msg] of [
    [['-g'], /--get needs a file name/],
    [['-r'], /--replace needs a file name/],
    [['-l', '30-user'], /--list takes no file name/],
    [['-g', '-r', 'x'], /give only one of --get, --replace/],
    [['-g', 'Upper'], /invalid file name "Upper"/],
    [['-g', 'include/a.b'], /invalid file name "a\.b"/],
    [['-g', 'x', '--token', 'any'], /--token goes with --replace or --remove/],
    [['-r', 'x', '--with-token'], /--with-token goes with --get/],
    [['-g', 'a', 'b'], /unexpected argument "b"/],
    [['--frobnicate'], /^qubes-policy: unknown option --frobnicate\nRun 'qubes-policy --help' for usage\.\n$/],
    [['--with-tokn'], /unknown option --with-tokn \(did you mean --with-token\?\)/],
    [['-g', 'a', '--token', 'x', '--token', 'y'], /given more than once/],
  ] as const) {
    const r = await cli([...args]);
    t.equal(r.status, 2, args.join(' '));
    t.match(r.err, msg);
  }
  t.notOk(fs.existsSync(LOG), 'no call made');
  const help = await cli(['--help']);
  t.equal(help.status, 0);
  t.match(help.out, /^usage: qubes-policy \{\[-l\]\|-g\|-r\|-d\} \[include\/\]\[NAME\] \[options\]/);
  for (const o of ['--list', '--get', '--replace', '--remove', '--token', '--with-token', '--qrexec-client-vm']) t.ok(help.out.includes(o), o);
});

t.test('in dom0: served here, logged as called by dom0', async (t) => {
  const r = await cli(['-l'], { dom0: true, env: { QREXEC_CLIENT_VM: '' } });
  if (fs.existsSync(DEFAULT_QREXEC_CLIENT_VM)) t.skip('this machine is a qube');
  else {
    t.same(r, { status: 0, out: '30-user\n', err: '' });
    const w = await withStdin({ method: 'replace', name: '60-dom0', token: 'new' }, 'qubes.A * work vault allow\n', { dom0: true });
    t.same(w, { status: 0, out: '', err: '' });
    t.match(fs.readFileSync(env.QREXEC_POLICY_ADMIN_LOG, 'utf8'), /policy\.Replace\+60-dom0 \(dom0\): created /);
  }
});

t.test('choosing the way to dom0', async (t) => {
  t.equal(chooseTransport('/x', {}).where, 'qube', 'an option');
  t.equal(chooseTransport(undefined, { QREXEC_CLIENT_VM: '/x' }).where, 'qube', 'the environment');
  t.equal(chooseTransport(undefined, {}, (p) => p === DEFAULT_QREXEC_CLIENT_VM).where, 'qube', 'qrexec-client-vm installed: a qube');
  t.equal(chooseTransport(undefined, {}, () => false).where, 'dom0', 'else dom0');
});

t.test('PolicyClient: a Get reply without a token line, a client killed by a signal', async (t) => {
  const fake = { where: 'qube' as const, call: async () => ({ status: 0, stdout: Buffer.from('no token'), stderr: '' }) };
  await t.rejects(new PolicyClient(fake).get('policy', 'x'), new CallFailed('policy.Get+x: the reply has no token line'));
  const other = { where: 'qube' as const, call: async () => ({ status: 1, stdout: Buffer.alloc(0), stderr: 'SomethingElse happened\n' }) };
  await t.rejects(new PolicyClient(other).list('policy'), new CallFailed('policy.List failed (exit status 1): SomethingElse happened'));
  const refusing = { where: 'qube' as const, call: async () => ({ status: 126, stdout: Buffer.alloc(0), stderr: 'Request refused' }) };
  await t.rejects(new PolicyClient(refusing).get('include', 'x'), new CallFailed('policy.include.Get+x failed (exit status 126): Request refused'));
  // anything but a refusal or a failed call is a bug: it reaches the process wrapper
  await t.rejects(runPolicyCli({ method: 'replace', name: 'x', token: 'any', withToken: false, qrexecClientVm: FAKE }, captureIo(env).io, () => {
    throw new TypeError('a bug');
  }), new TypeError('a bug'));
  t.throws(() => callProblem(new TypeError('bug')), new TypeError('bug'));
  t.equal(describeProblem(callProblem(new CallFailed('x'))), 'x');
  const sleeper = t.testdir({ 'kill-self': '#!/bin/sh\nkill -TERM $$\n' });
  fs.chmodSync(path.join(sleeper, 'kill-self'), 0o755);
  const r = await viaQrexecClientVm(path.join(sleeper, 'kill-self')).call('policy.List', new Uint8Array(0));
  t.same([r.status, r.stderr], [128, `${sleeper}/kill-self killed by SIGTERM`]);
});

t.test('the bundle, as a real process: -r reads standard input', async (t) => {
  if (!fs.existsSync(BIN)) return t.fail('dist/bin is missing: run `npm run build`');
  const r = spawnSync(process.execPath, [BIN, '--qrexec-client-vm', FAKE, '-r', '70-proc', '--token', 'new'], {
    input: 'qubes.P * work vault allow\n',
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  t.same([r.status, r.stdout, r.stderr], [0, '', '']);
  t.equal(fs.readFileSync(path.join(env.QREXEC_POLICY_DIR, '70-proc.policy'), 'utf8'), 'qubes.P * work vault allow\n');
  const g = spawnSync(process.execPath, [BIN, '--qrexec-client-vm', FAKE, '-g', '70-proc'], { encoding: 'utf8', env: { ...process.env, ...env } });
  t.same([g.status, g.stdout], [0, 'qubes.P * work vault allow\n']);
});

/**
 * `qubes-policy-admin` as qrexec runs it: the bundle in dist/bin, one real
 * process per call, on real temporary directories. Every service × token
 * case, every refusal the issue lists, many concurrent Replaces with one
 * token (exactly one wins), and a writer killed between its durable write
 * and the rename (the old file stays, nothing the loader reads is left, the
 * lock dies with the writer).
 */
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tokenOf } from '../../src/admin/token.js';
import { loadPolicySet } from '../../src/policy/policy.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'dist/bin/qubes-policy-admin.js');

interface Dirs {
  policy: string;
  legacy: string;
  log: string;
}

function dirs(t: Test, files: Record<string, unknown> = {}): Dirs {
  const root = t.testdir({ 'policy.d': { include: {}, ...files }, legacy: {} });
  return { policy: path.join(root, 'policy.d'), legacy: path.join(root, 'legacy'), log: path.join(root, 'admin.log') };
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function start(d: Dirs, service: string, payload: string | Buffer, env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, [BIN], {
    env: {
      PATH: process.env['PATH'],
      QREXEC_SERVICE_FULL_NAME: service,
      QREXEC_REMOTE_DOMAIN: 'mgmt',
      QREXEC_POLICY_DIR: d.policy,
      QREXEC_POLICY_LEGACY_DIR: d.legacy,
      QREXEC_POLICY_ADMIN_LOG: d.log,
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin!.end(payload);
  return child;
}

function finish(child: ChildProcess): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

const admin = (d: Dirs, service: string, payload: string | Buffer = '', env: NodeJS.ProcessEnv = {}) => finish(start(d, service, payload, env));

const file = (d: Dirs, rel: string) => path.join(d.policy, rel);
const read = (d: Dirs, rel: string) => fs.readFileSync(file(d, rel), 'utf8');
const everything = (d: Dirs) => [...fs.readdirSync(d.policy), ...fs.readdirSync(file(d, 'include')).map((n) => 'include/' + n)].filter((n) => n !== 'include').sort();

function refusedWith(t: Test, r: Run, cls: string, msg?: RegExp) {
  t.equal(r.status, 1, `${cls}: exit 1`);
  t.equal(r.stdout, '');
  t.equal(r.stderr.split(' ')[0], cls);
  if (msg) t.match(r.stderr, msg);
}

if (!fs.existsSync(BIN)) {
  t.fail('dist/bin is missing: run `npm run build` (npm test does it first)');
} else {
  t.test('--help through the real program, and no call without QREXEC_SERVICE_FULL_NAME', async (t) => {
    const d = dirs(t);
    const h = await finish(spawn(process.execPath, [BIN, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    t.equal(h.status, 0);
    t.match(h.stdout, /^usage: qubes-policy-admin\n/);
    const none = await admin(d, '');
    t.equal(none.status, 2);
    t.match(none.stderr, /QREXEC_SERVICE_FULL_NAME is not set/);
  });

  for (const area of ['policy', 'include'] as const) {
    const svc = (m: string, name = 'f') => `policy.${area === 'include' ? 'include.' : ''}${m}+${name}`;
    const rel = area === 'include' ? 'include/f' : 'f.policy';
    t.test(`${area}: Get, Replace and Remove × every kind of token`, async (t) => {
      const d = dirs(t);
      const v1 = 'qubes.A * work vault allow\n';
      const v2 = 'qubes.A * work vault deny\n';
      const v3 = 'qubes.A * work vault ask\n';
      // refusals change nothing: each group runs at once
      const refusals = async (cases: [string, string, string, RegExp][]) => {
        const runs = await Promise.all(cases.map(([m, payload]) => admin(d, svc(m), payload)));
        runs.forEach((r, i) => refusedWith(t, r, cases[i]![2], cases[i]![3]));
      };
      // a digest for a file that does not exist; then new on a missing file creates it
      await refusals([
        ['Replace', `${tokenOf(Buffer.from(v1))}\n${v1}`, 'PolicyAdminTokenException', /does not exist, but the token is not 'new'/],
        ['Get', '', 'PolicyAdminFileNotFoundException', /not found/],
        ['Remove', 'any', 'PolicyAdminFileNotFoundException', /not found/],
        ['Remove', tokenOf(Buffer.from(v1)), 'PolicyAdminTokenException', /does not exist/],
      ]);
      t.equal((await admin(d, svc('Replace'), `new\n${v1}`)).status, 0, 'new on a missing file');
      // Get: the token of what is there
      const got = await admin(d, svc('Get'));
      t.same([got.status, got.stdout], [0, `${tokenOf(Buffer.from(v1))}\n${v1}`]);
      const token = got.stdout.split('\n')[0]!;
      await refusals([
        ['Replace', `new\n${v2}`, 'PolicyAdminTokenException', /exists, but the token is 'new'/],
        ['Replace', `sha256:${'f'.repeat(64)}\n${v2}`, 'PolicyAdminTokenException', /token mismatch/],
        ['Replace', `latest\n${v2}`, 'PolicyAdminProtocolException', /unrecognized token "latest"/],
        ['Replace', v2.trimEnd(), 'PolicyAdminProtocolException', /token line/],
        ['Replace', '', 'PolicyAdminProtocolException', /token line/],
        ['Remove', 'new', 'PolicyAdminTokenException', /exists, but the token is 'new'/],
        ['Remove', 'latest', 'PolicyAdminProtocolException', /unrecognized token "latest"/],
        ['Remove', '', 'PolicyAdminProtocolException', /unrecognized token ""/],
      ]);
      t.equal(read(d, rel), v1, 'every refusal left the file alone');
      t.equal((await admin(d, svc('Replace'), `${token}\n${v2}`)).status, 0, 'the token of the last Get');
      t.equal(read(d, rel), v2);
      await refusals([
        ['Replace', `${token}\n${v1}`, 'PolicyAdminTokenException', /token mismatch/],
        ['Remove', token, 'PolicyAdminTokenException', /token mismatch/],
      ]);
      t.equal((await admin(d, svc('Replace'), `any\n${v3}`)).status, 0, 'any');
      t.equal(read(d, rel), v3);
      t.equal((await admin(d, svc('Remove'), tokenOf(Buffer.from(v3)))).status, 0, 'the matching token');
      t.notOk(fs.existsSync(file(d, rel)));
      const list = await admin(d, svc('List').replace(/\+f$/, ''));
      t.same([list.status, list.stdout], [0, '']);
      t.same(everything(d), [], 'no temporary or lock file after any of it');
    });
  }

  t.test('every refusal the issue lists, each leaving the directory as it was', async (t) => {
    const d = dirs(t, { '30-user.policy': 'qubes.A * work vault allow\n!include include/inc\n', include: { inc: 'qubes.B * work vault allow\n' } });
    const snapshot = () => everything(d).map((n) => [n, read(d, n)]);
    const before = snapshot();
    const cases: [string, string | Buffer, string, RegExp][] = [
      ['policy.Replace+30-user', 'any\nqubes.A * work vault alow\n', 'PolicyAdminSyntaxException', /30-user\.policy:1: invalid action: alow/],
      ['policy.Replace+40-x', 'any\n!include include/none\n', 'PolicyAdminSyntaxException', /40-x\.policy:1: not a file: .*include\/none/],
      ['policy.include.Replace+inc', 'any\nwork vault allow\n', 'PolicyAdminSyntaxException', /include\/inc:1: wrong number of fields/],
      ['policy.include.Remove+inc', 'any', 'PolicyAdminSyntaxException', /30-user\.policy:2: not a file: .*include\/inc \(the file this change removes\)/],
      ['policy.Replace+30-user', Buffer.concat([Buffer.from('any\n# caf'), Buffer.from([0xe9]), Buffer.from('\n')]), 'PolicyAdminSyntaxException', /30-user\.policy:1: not valid UTF-8/],
      ...['User', '..', '.hidden', ''].map((n): [string, string, string, RegExp] => [`policy.Replace+${n}`, 'any\n', 'PolicyAdminInvalidFileNameException', /invalid policy file name/]),
      ...['a b', 'a/b', '../x'].map((n): [string, string, string, RegExp] => [`policy.Replace+${n}`, 'any\n', 'PolicyAdminProtocolException', /invalid argument/]),
    ];
    const runs = await Promise.all(cases.map(([service, payload]) => admin(d, service, payload)));
    runs.forEach((r, i) => refusedWith(t, r, cases[i]![2], cases[i]![3]));
    t.same(snapshot(), before);
    t.equal(fs.readFileSync(d.log, 'utf8').trimEnd().split('\n').length, 12, 'one log line per call');
  });

  t.test('16 concurrent Replaces with one token: exactly one wins, the file is whole, nothing is left over', async (t) => {
    const d = dirs(t, { '30-user.policy': 'qubes.A * work vault allow\n' });
    const token = tokenOf(Buffer.from('qubes.A * work vault allow\n'));
    // every payload a valid policy of its own, large enough that writes take a while
    const payloads = Array.from({ length: 16 }, (_, i) => Array.from({ length: 2000 }, (_, k) => `qubes.S${k} * work vault allow # writer ${i}`.replace(' #', '\n#')).join('\n') + '\n');
    const runs = await Promise.all(payloads.map((p) => admin(d, 'policy.Replace+30-user', `${token}\n${p}`)));
    const won = runs.map((r, i) => [r.status, i] as const).filter(([s]) => s === 0);
    t.equal(won.length, 1, 'one Replace went through');
    t.ok(
      runs.every((r) => r.status === 0 || (r.status === 1 && r.stderr.startsWith('PolicyAdminTokenException token mismatch'))),
      'every other one was refused for its token',
    );
    t.equal(read(d, '30-user.policy'), payloads[won[0]![1]], "the file is exactly the winner's");
    t.same(everything(d), ['30-user.policy']);
  });

  t.test('a writer killed between its durable write and the rename', async (t) => {
    const d = dirs(t, { '30-user.policy': 'qubes.A * work vault allow\n' });
    const child = start(d, 'policy.Replace+30-user', 'any\nqubes.A * work vault deny\n', { QREXEC_POLICY_ADMIN_FAILPOINT: 'before-rename' });
    const result = finish(child);
    // the failpoint says where it stopped (the process is then stopped, lock held)
    await new Promise<void>((resolve) => {
      let seen = '';
      child.stderr!.on('data', (b: Buffer) => {
        seen += b.toString();
        if (seen.includes('failpoint before-rename')) resolve();
      });
    });
    const names = fs.readdirSync(d.policy).sort();
    const temp = names.filter((n) => n !== '30-user.policy' && n !== 'include');
    t.equal(temp.length, 1, 'the new content is in a temporary file');
    t.match(temp[0], /^\./, 'whose name the loader ignores');
    t.equal(fs.readFileSync(path.join(d.policy, temp[0]!), 'utf8'), 'qubes.A * work vault deny\n', 'written in full');
    t.equal(read(d, '30-user.policy'), 'qubes.A * work vault allow\n', 'the old file is intact');
    const p = loadPolicySet({ paths: [d.policy], legacyPath: d.legacy });
    t.same([p.error, p.load.files], [null, [file(d, '30-user.policy')]], 'the loader reads the old file and nothing else');
    // the lock is held: another writer waits
    const second = finish(start(d, 'policy.Replace+30-user', 'any\nqubes.A * work vault ask\n'));
    let secondDone = false;
    void second.then(() => (secondDone = true));
    await new Promise((r) => setTimeout(r, 600));
    t.notOk(secondDone, 'a second writer waits for the stopped one');
    child.kill('SIGKILL');
    const killed = await result;
    t.equal(killed.status, null, 'killed');
    const r = await second;
    t.equal(r.status, 0, 'the lock died with the writer');
    t.equal(read(d, '30-user.policy'), 'qubes.A * work vault ask\n');
    t.same(everything(d), ['30-user.policy'], 'and the leftover is gone');
  });

  t.test('GetFiles and policy.Eval through the real program', async (t) => {
    const d = dirs(t, { '30-user.policy': 'qubes.Gpg * work vault allow\n!include include/more\n', include: { more: 'qubes.Gpg * @anyvm @anyvm deny\n' } });
    const si = path.join(path.dirname(d.policy), 'si.json');
    fs.writeFileSync(si, JSON.stringify({ domains: { dom0: { type: 'AdminVM' }, work: { type: 'AppVM', uuid: '11111111-1111-4111-8111-111111111111' }, vault: { type: 'AppVM', uuid: '33333333-3333-4333-8333-333333333333' } } }));
    const [files, ev] = await Promise.all([
      admin(d, 'policy.GetFiles+qubes.Gpg'),
      admin(d, 'policy.Eval', 'work vault qubes.Gpg\n', { QREXEC_POLICY_SYSTEM_INFO: si }),
    ]);
    t.same([files.status, files.stdout, files.stderr], [0, '30-user\ninclude/more\n', '']);
    t.equal(ev.status, 0);
    t.match(JSON.parse(ev.stdout), { result: 'allow', target: 'vault', rule: { file: file(d, '30-user.policy'), line: 1 } });
  });

  t.test('an unusable policy directory is an internal error (exit 2); the caller is told where to look', async (t) => {
    const d = dirs(t);
    const gone = { ...d, policy: path.join(d.policy, 'missing') };
    const r = await admin(gone, 'policy.List');
    t.equal(r.status, 2);
    t.equal(r.stderr, `internal error; see ${d.log} in dom0`);
    t.match(fs.readFileSync(d.log, 'utf8'), /error: policy\.List \(mgmt\): internal error: ENOENT/);
  });

  t.test('the round trip of the README: Get, Replace with its token, a Replace with the old token refused', async (t) => {
    const d = dirs(t, { '30-user.policy': 'qubes.Gpg * work vault ask default_target=vault\n' });
    const got = await admin(d, 'policy.Get+30-user');
    const token = got.stdout.split('\n')[0]!;
    t.equal(got.stdout, `${token}\nqubes.Gpg * work vault ask default_target=vault\n`);
    const ok = await admin(d, 'policy.Replace+30-user', `${token}\nqubes.Gpg * work vault allow\n`);
    t.same([ok.status, ok.stdout, ok.stderr], [0, '', '']);
    const late = await admin(d, 'policy.Replace+30-user', `${token}\nqubes.Gpg * @anyvm vault allow\n`);
    t.same([late.status, late.stderr], [1, 'PolicyAdminTokenException token mismatch: 30-user changed since it was read']);
    const log = fs.readFileSync(d.log, 'utf8').trimEnd().split('\n').map((l) => l.replace(/^\S+ /, ''));
    t.same(log, [
      `policy.Get+30-user (mgmt): read ${d.policy}/30-user.policy ${token}`,
      `policy.Replace+30-user (mgmt): replaced ${d.policy}/30-user.policy ${token} -> ${tokenOf(Buffer.from('qubes.Gpg * work vault allow\n'))}`,
      'warning: policy.Replace+30-user (mgmt): refused: PolicyAdminTokenException token mismatch: 30-user changed since it was read',
    ]);
  });
}

/**
 * qubes-policy-admin's entry (adminMain) in process: options, the
 * environment it needs, the reply and refusal channels, the payload limit,
 * the failpoint that fails a write, reading stdin; and the directory lock
 * on its own: mutual exclusion between processes, time-outs, a flock(1)
 * that fails or is missing.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminMain, readFd, type AdminIo } from '../../src/admin/admin-cli.js';
import { MAX_PAYLOAD } from '../../src/admin/call.js';
import { LockError, withDirLock } from '../../src/admin/lock.js';
import { VERSION } from '../../src/version.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function io(stdin: Uint8Array = new Uint8Array(0)) {
  let out = '';
  let err = '';
  const asked: number[] = [];
  const x: AdminIo = {
    readStdin: (limit) => {
      asked.push(limit);
      return stdin;
    },
    out: (b) => void (out += Buffer.from(b).toString('utf8')),
    err: (s) => void (err += s),
  };
  return {
    io: x,
    asked,
    get out() {
      return out;
    },
    get err() {
      return err;
    },
  };
}

t.test('adminMain: --help and --version on stdout, any other argument is a usage error', async (t) => {
  const h = io();
  t.equal(await adminMain(['--help'], {}, h.io), 0);
  t.match(h.out, /^usage: qubes-policy-admin\n/);
  for (const v of ['QREXEC_SERVICE_FULL_NAME', 'QREXEC_POLICY_DIR', 'QREXEC_POLICY_LEGACY_DIR', 'QREXEC_REMOTE_DOMAIN', 'exit status']) t.ok(h.out.includes(v), v);
  const v = io();
  t.equal(await adminMain(['--version'], {}, v.io), 0);
  t.equal(v.out, VERSION + '\n');
  const bad = io();
  t.equal(await adminMain(['--list'], {}, bad.io), 2);
  t.match(bad.err, /^qubes-policy-admin: unexpected argument "--list": the call comes in the environment/);
  const none = io();
  t.equal(await adminMain([], {}, none.io), 2);
  t.match(none.err, /^qubes-policy-admin: QREXEC_SERVICE_FULL_NAME is not set: qrexec runs this for policy\.List, /);
});

t.test('adminMain: one call from the environment; a refusal is one line without a line end', async (t) => {
  const dir = t.testdir({ 'policy.d': { '30-user.policy': 'qubes.Gpg * work vault allow\n' }, legacy: {} });
  const env = {
    QREXEC_POLICY_DIR: path.join(dir, 'policy.d'),
    QREXEC_POLICY_LEGACY_DIR: path.join(dir, 'legacy'),
    QREXEC_POLICY_ADMIN_LOG: path.join(dir, 'admin.log'),
    QREXEC_REMOTE_DOMAIN: 'mgmt',
  };
  const l = io();
  t.equal(await adminMain([], { ...env, QREXEC_SERVICE_FULL_NAME: 'policy.List' }, l.io), 0);
  t.same([l.out, l.err], ['30-user\n', '']);
  t.same(l.asked, [MAX_PAYLOAD + 1], 'reads one byte past the limit, to tell too much');
  const r = io(Buffer.from('new\n'));
  t.equal(await adminMain([], { ...env, QREXEC_SERVICE_FULL_NAME: 'policy.Replace+30-user' }, r.io), 1);
  t.equal(r.err, "PolicyAdminTokenException 30-user exists, but the token is 'new'");
  t.equal(r.out, '');
  const big = io(Buffer.alloc(MAX_PAYLOAD + 1, 0x61));
  t.equal(await adminMain([], { ...env, QREXEC_SERVICE_FULL_NAME: 'policy.Replace+30-user' }, big.io), 1);
  t.match(big.err, /^PolicyAdminProtocolException the payload is larger than/);
  const fp = io(Buffer.from('any\n'));
  t.equal(await adminMain([], { ...env, QREXEC_SERVICE_FULL_NAME: 'policy.Replace+30-user', QREXEC_POLICY_ADMIN_FAILPOINT: 'error-before-rename' }, fp.io), 2);
  t.equal(fp.err, `internal error; see ${env.QREXEC_POLICY_ADMIN_LOG} in dom0`);
  const anon = io();
  t.equal(await adminMain([], { ...env, QREXEC_SERVICE_FULL_NAME: 'policy.List', QREXEC_REMOTE_DOMAIN: '' }, anon.io), 0);
  const log = fs.readFileSync(env.QREXEC_POLICY_ADMIN_LOG, 'utf8').trimEnd().split('\n');
  t.equal(log.length, 5, 'one line per call');
  t.match(log[0], /^\S+Z policy\.List \(mgmt\): 1 files$/);
  t.match(log[1], /^\S+Z warning: policy\.Replace\+30-user \(mgmt\): refused: PolicyAdminTokenException /);
  t.match(log[3], /^\S+Z error: policy\.Replace\+30-user \(mgmt\): internal error: failpoint error-before-rename$/);
  t.match(log[4], /\(\(unknown caller\)\)/);
  t.equal(fs.readFileSync(path.join(env.QREXEC_POLICY_DIR, '30-user.policy'), 'utf8'), 'qubes.Gpg * work vault allow\n');
});

t.test('a log file that cannot be written: the line comes after the reply, never before it', async (t) => {
  const dir = t.testdir({ 'policy.d': { '30-user.policy': '' }, legacy: {} });
  const env = { QREXEC_POLICY_DIR: path.join(dir, 'policy.d'), QREXEC_POLICY_LEGACY_DIR: path.join(dir, 'legacy'), QREXEC_POLICY_ADMIN_LOG: path.join(dir, 'no/such/dir/log'), QREXEC_REMOTE_DOMAIN: 'mgmt' };
  const r = io(Buffer.from('new\n'));
  t.equal(await adminMain([], { ...env, QREXEC_SERVICE_FULL_NAME: 'policy.Replace+30-user' }, r.io), 1);
  t.equal(
    r.err,
    `PolicyAdminTokenException 30-user exists, but the token is 'new'\nqubes-policy-admin: cannot write ${env.QREXEC_POLICY_ADMIN_LOG}; the log line was: warning: policy.Replace+30-user (mgmt): refused: PolicyAdminTokenException 30-user exists, but the token is 'new'\n`,
  );
  const ok = io();
  t.equal(await adminMain([], { ...env, QREXEC_SERVICE_FULL_NAME: 'policy.List' }, ok.io), 0);
  t.same([ok.out, ok.err], ['30-user\n', `qubes-policy-admin: cannot write ${env.QREXEC_POLICY_ADMIN_LOG}; the log line was: policy.List (mgmt): 1 files\n`]);
});

t.test('the defaults: Qubes\' paths', async (t) => {
  const { adminContext, adminLogger, DEFAULT_ADMIN_LOG, DEFAULT_POLICY_DIR } = await import('../../src/admin/call.js');
  t.match(adminContext({}), { policyDir: DEFAULT_POLICY_DIR, legacyDir: '/etc/qubes-rpc/policy' });
  t.equal(DEFAULT_POLICY_DIR, '/etc/qubes/policy.d');
  t.equal(adminLogger({}).file, DEFAULT_ADMIN_LOG);
  t.equal(DEFAULT_ADMIN_LOG, '/var/log/qubes/policy-admin.log');
});

t.test('readFd: everything up to the limit, then stops; a closed stdin is an empty payload', async (t) => {
  const dir = t.testdir({ small: 'payload', big: 'x'.repeat(200_000) });
  const fd = fs.openSync(path.join(dir, 'small'), 'r');
  t.equal(Buffer.from(readFd(fd, 100)).toString(), 'payload');
  fs.closeSync(fd);
  const fd2 = fs.openSync(path.join(dir, 'big'), 'r');
  t.equal(readFd(fd2, 150_001).length, 150_001);
  fs.closeSync(fd2);
  t.equal(readFd(fd2, 10).length, 0, 'EBADF');
  t.throws(() => readFd(fs.openSync(dir, 'r'), 10), { code: 'EISDIR' });
});

t.test('the directory lock excludes other processes: 8 read-modify-write increments, none lost', async (t) => {
  const dir = t.testdir({ counter: '0' });
  const helper = path.join(ROOT, 'test/admin/fixtures/lock-increment.mjs');
  const runs = Array.from(
    { length: 8 },
    () =>
      new Promise<number | null>((resolve) => {
        const c = spawn(process.execPath, [helper, dir], { stdio: 'inherit' });
        c.on('close', resolve);
      }),
  );
  t.same(await Promise.all(runs), Array(8).fill(0));
  t.equal(fs.readFileSync(path.join(dir, 'counter'), 'utf8'), '8', 'every increment happened under the lock, one at a time');
  t.same(fs.readdirSync(dir), ['counter'], 'no lock file');
});

t.test('the lock interoperates with flock(1) (and so with Qubes\' own writer): it waits, or times out', async (t) => {
  const dir = t.testdir({});
  // another holder of the lock, for 1.5 s
  const holder = spawn('flock', ['--exclusive', dir, 'sleep', '1.5'], { stdio: 'ignore' });
  const done = new Promise((r) => holder.on('close', r));
  await new Promise((r) => setTimeout(r, 300));
  await t.rejects(withDirLock(dir, () => 'never', { timeoutSeconds: 0.2 }), new LockError(`cannot lock ${dir}: another change held it for 0.2 s`));
  const t0 = Date.now();
  t.equal(await withDirLock(dir, () => 'got it', { timeoutSeconds: 10 }), 'got it');
  t.ok(Date.now() - t0 > 300, 'waited for the holder to finish');
  await done;
  // released when the function settles, also by throwing
  await t.rejects(withDirLock(dir, () => { throw new Error('inside'); }), { message: 'inside' });
  t.equal(await withDirLock(dir, async () => 'again', { timeoutSeconds: 1 }), 'again');
});

t.test('the lock fails closed: no directory, no flock(1), a flock(1) that fails', async (t) => {
  const dir = t.testdir({ file: '', 'flock-fails': '#!/bin/sh\necho "flock: broken" >&2\nexit 3\n' });
  fs.chmodSync(path.join(dir, 'flock-fails'), 0o755);
  await t.rejects(withDirLock(path.join(dir, 'none'), () => 0), new LockError(`cannot lock ${dir}/none: does not exist`));
  await t.rejects(withDirLock(path.join(dir, 'file'), () => 0), new LockError(`cannot lock ${dir}/file: a part of the path is not a directory`));
  await t.rejects(withDirLock(dir, () => 0, { flock: path.join(dir, 'no-flock') }), new LockError(`cannot lock ${dir}: cannot run ${dir}/no-flock (does not exist)`));
  await t.rejects(withDirLock(dir, () => 0, { flock: path.join(dir, 'flock-fails') }), new LockError(`cannot lock ${dir}: flock exited 3: flock: broken`));
});

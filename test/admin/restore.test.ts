/**
 * `qrexec-policy-restore`: a backup's files back into a policy directory,
 * includes before their includers, each checked and written like a Policy
 * Admin API change; --dry-run, --overwrite, files kept, refused and
 * ignored; a real-world tree restored into an empty directory decides
 * exactly like the tree. Through the real argument parser, and the bundle
 * once as a real process.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { standaloneMain } from '../../src/cli/standalone.js';
import { command } from '../../src/cli/commands/qrexec-policy-restore.js';
import { runRestore, type RestoreArgs } from '../../src/admin/restore-cli.js';
import { loadPolicySet } from '../../src/policy/policy.js';
import { readSystemInfoFile } from '../../src/io/sources.js';
import { diffPolicies } from '../../src/diff/compare.js';
import { captureIo } from '../cli/fixtures/cli.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'dist/bin/qrexec-policy-restore.js');
const TREES = path.resolve(ROOT, '../shared/realworld/trees');

function setup(t: Test, backup: Record<string, unknown>, dest: Record<string, unknown> = {}) {
  const root = t.testdir({ backup, dest, legacy: {} });
  const env = {
    QREXEC_POLICY_DIR: path.join(root, 'dest'),
    QREXEC_POLICY_LEGACY_DIR: path.join(root, 'legacy'),
    QREXEC_POLICY_ADMIN_LOG: path.join(root, 'admin.log'),
  };
  const run = async (args: Partial<RestoreArgs> = {}) => {
    const c = captureIo(env);
    const status = await runRestore({ backup: path.join(root, 'backup'), dest: undefined, dryRun: false, overwrite: false, ...args }, c.io);
    return { status, out: c.out, err: c.err };
  };
  const inDest = (rel: string) => path.join(root, 'dest', rel);
  return { root, env, run, dest: inDest };
}

const chain = {
  '30-user.policy': '!include include/a\nqubes.U * work vault allow\n',
  '10-first.policy': 'qubes.F * work vault allow\n',
  include: { a: '!include include/b\nqubes.A * work vault allow\n', b: 'qubes.B * work vault allow\n', svc: 'work vault allow\n', '.swp': '', Upper: '' },
  README: 'notes\n',
  'Upper.policy': '',
  sub: {},
};

t.test('into an empty directory: includes first, in dependency order; then the files that include them', async (t) => {
  const s = setup(t, { ...chain, '20-svc.policy': '!include-service qubes.S * include/svc\n' });
  const r = await s.run();
  t.equal(r.status, 0);
  t.equal(
    r.out,
    ['include/b: restored', 'include/a: restored', 'include/svc: restored', '10-first: restored', '20-svc: restored', '30-user: restored', '6 restored, 0 unchanged, 0 kept as they are, 0 refused', ''].join('\n'),
  );
  t.match(r.err, /ignored .*backup\/Upper\.policy: not a policy file name/);
  t.match(r.err, /ignored .*backup\/README: not a policy file name/);
  t.match(r.err, /ignored .*backup\/sub: not a file/);
  t.match(r.err, /ignored .*backup\/include\/\.swp: not a policy file name/);
  t.match(r.err, /ignored .*backup\/include\/Upper: not a policy file name/);
  t.equal(fs.readFileSync(s.dest('include/a'), 'utf8'), chain.include.a);
  t.equal(fs.statSync(s.dest('30-user.policy')).mode & 0o7777, 0o664);
  const log = fs.readFileSync(s.env.QREXEC_POLICY_ADMIN_LOG, 'utf8').trimEnd().split('\n');
  t.equal(log.length, 6, 'one log line per file');
  t.match(log[0], /qrexec-policy-restore from .*backup\/include\/b: created .*dest\/include\/b \(none\) -> sha256:/);
  // again: everything is already there
  const again = await s.run();
  t.match(again.out, /^include\/b: unchanged\n[\s\S]*0 restored, 6 unchanged, 0 kept as they are, 0 refused\n$/);
  t.match((await s.run({ dryRun: true })).out, /^include\/b: unchanged\n/, 'a dry run says the same');
});

t.test('--dry-run reports the same and writes nothing (later files see the earlier ones)', async (t) => {
  const s = setup(t, chain);
  const r = await s.run({ dryRun: true });
  t.equal(r.status, 0);
  t.match(r.out, /^include\/b: would be restored\ninclude\/a: would be restored\n/);
  t.match(r.out, /30-user: would be restored\n5 would be restored, 0 unchanged, 0 kept as they are, 0 refused \(dry run: nothing written\)\n$/);
  t.same(fs.readdirSync(s.dest('.')), []);
  t.notOk(fs.existsSync(s.env.QREXEC_POLICY_ADMIN_LOG));
});

t.test('files that exist: kept unless --overwrite; refused files do not stop the others', async (t) => {
  const s = setup(
    t,
    { '30-user.policy': 'qubes.U * work vault deny\n', '40-bad.policy': 'qubes.B * work\n', '50-inc.policy': '!include include/none\n', '60-enc.policy': Buffer.from([0x23, 0xff, 0x0a]) },
    { '30-user.policy': 'qubes.U * work vault allow\n' },
  );
  const kept = await s.run();
  t.equal(kept.status, 1, 'something was refused');
  t.match(kept.out, /^30-user: not restored: it exists and differs \(--overwrite replaces it\)\n/);
  t.match(kept.err, /qrexec-policy-restore: 40-bad: refused: the policy would not load with it: .*40-bad\.policy:1: wrong number of fields\n/);
  t.match(kept.err, /50-inc: refused: the policy would not load with it: .*50-inc\.policy:1: not a file: .*include\/none\n/);
  t.match(kept.err, /60-enc: refused: .*backup\/60-enc\.policy:1: not valid UTF-8\n/);
  t.match(kept.out, /0 restored, 0 unchanged, 1 kept as they are, 3 refused\n$/);
  const over = await s.run({ overwrite: true });
  t.match(over.out, /^30-user: restored \(replacing the existing file\)\n/);
  t.equal(fs.readFileSync(s.dest('30-user.policy'), 'utf8'), 'qubes.U * work vault deny\n');
  t.same(fs.readdirSync(s.dest('.')).sort(), ['30-user.policy'], 'nothing refused was written, no leftovers');
  // a link in the policy directory is not replaced
  fs.symlinkSync('30-user.policy', s.dest('40-bad.policy'));
  const link = await s.run({ overwrite: true });
  t.match(link.err, /40-bad: refused: .*40-bad\.policy is not a regular file/);
});

t.test('the order follows !include-dir, !include-service and the service files\' $include:', async (t) => {
  const s = setup(t, {
    '10-dir.policy': '!include-dir extra\n',
    '20-svc.policy': '!include-service qubes.S * include/svc\n',
    include: { svc: '$include:include/more\n', more: 'work vault allow\n', z: '# none\n' },
  });
  fs.mkdirSync(s.dest('extra'));
  const r = await s.run({ dryRun: true });
  t.equal(r.status, 0);
  t.match(r.out, /^include\/more: would be restored\ninclude\/svc: would be restored\ninclude\/z: would be restored\n10-dir: would be restored\n20-svc: would be restored\n/);
});

t.test('a cycle of includes does not hang the ordering', async (t) => {
  const s = setup(t, { include: { a: '!include include/b\n', b: '!include include/a\n' }, 'x.policy': '!include include/a\n' });
  const r = await s.run({ dryRun: true });
  t.equal(r.status, 1);
  t.match(r.out, /^include\/b: would be restored\ninclude\/a: would be restored\n/);
  t.match(r.err, /x: refused: .*include cycle/);
});

t.test('unusable directories: exit 2, one line', async (t) => {
  const s = setup(t, {});
  const noBackup = await s.run({ backup: path.join(s.root, 'none') });
  t.same([noBackup.status, noBackup.err], [2, `qrexec-policy-restore: cannot read ${s.root}/none: does not exist\n`]);
  const noDest = await s.run({ dest: path.join(s.root, 'none') });
  t.same([noDest.status, noDest.err], [2, `qrexec-policy-restore: cannot read ${s.root}/none: does not exist\n`]);
  fs.writeFileSync(path.join(s.root, 'file'), '');
  const fileDest = await s.run({ dest: path.join(s.root, 'file') });
  t.same([fileDest.status, fileDest.err], [2, `qrexec-policy-restore: cannot read ${s.root}/file: not a directory\n`]);
  const defaults = captureIo({});
  t.equal(await runRestore({ backup: path.join(s.root, 'none'), dest: undefined, dryRun: true, overwrite: false }, defaults.io), 2);
  t.match(defaults.err, /^qrexec-policy-restore: cannot read \/etc\/qubes\/policy\.d: does not exist\n$|cannot read .*none: does not exist/, 'the policy directory defaults to Qubes\'');
  const busy = await (async () => {
    const c = captureIo({ ...s.env, PATH: path.join(s.root, 'no-bin') });
    const status = await runRestore({ backup: path.join(s.root, 'backup'), dest: undefined, dryRun: false, overwrite: false }, c.io);
    return { status, err: c.err };
  })();
  t.same([busy.status, busy.err], [2, `qrexec-policy-restore: cannot lock ${s.root}/dest: cannot run flock (does not exist)\n`], 'no flock(1): nothing done');
  // an include/ in the backup that is not a directory is a file to ignore, not a crash
  fs.writeFileSync(path.join(s.root, 'backup', 'include'), 'x');
  t.equal((await s.run()).status, 2, 'include/ not a directory: unreadable');
});

t.test('a real-world tree restored into an empty directory decides exactly like the tree', async (t) => {
  const tree = path.join(TREES, 'r41-upgraded-compat');
  if (!fs.existsSync(tree)) return t.skip('no real-world trees');
  const root = t.testdir({ dest: {} });
  const env = { QREXEC_POLICY_DIR: path.join(root, 'dest'), QREXEC_POLICY_LEGACY_DIR: path.join(tree, 'legacy'), QREXEC_POLICY_ADMIN_LOG: path.join(root, 'log') };
  const c = captureIo(env);
  t.equal(await runRestore({ backup: path.join(tree, 'policy.d'), dest: undefined, dryRun: false, overwrite: false }, c.io), 0);
  const si = readSystemInfoFile(path.join(tree, 'system-info.json'));
  const a = loadPolicySet({ paths: [path.join(tree, 'policy.d')], legacyPath: path.join(tree, 'legacy') });
  const b = loadPolicySet({ paths: [env.QREXEC_POLICY_DIR], legacyPath: path.join(tree, 'legacy') });
  t.equal(b.error, null);
  t.same(diffPolicies(a, b, si).changes, [], 'no decision differs');
});

t.test('the real argument parser, and the bundle as a real process', async (t) => {
  const s = setup(t, { '30-user.policy': 'qubes.U * work vault allow\n' });
  const c = captureIo(s.env);
  t.equal(await standaloneMain('qrexec-policy-restore', command, ['--dry-run', path.join(s.root, 'backup')], c.io), 0);
  t.equal(c.out, '30-user: would be restored\n1 would be restored, 0 unchanged, 0 kept as they are, 0 refused (dry run: nothing written)\n');
  const h = captureIo(s.env);
  t.equal(await standaloneMain('qrexec-policy-restore', command, ['--help'], h.io), 0);
  for (const o of ['--dry-run', '--overwrite', '--dest', 'BACKUP_DIR', 'exit status']) t.ok(h.out.includes(o), o);
  const none = captureIo(s.env);
  t.equal(await standaloneMain('qrexec-policy-restore', command, [], none.io), 2);
  t.match(none.err, /give the backup directory/);
  if (!fs.existsSync(BIN)) return t.fail('dist/bin is missing: run `npm run build`');
  const r = spawnSync(process.execPath, [BIN, '--dest', s.dest('.'), path.join(s.root, 'backup')], { encoding: 'utf8', env: { ...process.env, ...s.env } });
  t.same([r.status, r.stdout, r.stderr], [0, '30-user: restored\n1 restored, 0 unchanged, 0 kept as they are, 0 refused\n', '']);
});

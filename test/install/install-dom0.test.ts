/**
 * `qrexec-policy install-dom0` in a temporary root standing in for `/`,
 * through the real umbrella parser: --enable shows its steps, takes Qubes'
 * names and switches the daemon units (a fake systemctl on PATH records
 * what it is told); --disable gives back every file byte for byte (content,
 * mode, owner, mtime, a symbolic link's target). Also the package's file
 * list check (scripts/check-rpm-files.mjs) and the name lists it relies on.
 */
import t from 'tap';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { umbrellaMain } from '../../src/cli/umbrella.js';
import { runInstallDom0 } from '../../src/install/cli.js';
import { apply, planDisable, systemctlSteps } from '../../src/install/dom0.js';
import { COMMAND_DIR, COMMANDS, STATE_DIR } from '../../src/install/names.js';
import { captureIo } from '../cli/fixtures/cli.js';
// @ts-expect-error -- a plain .mjs script, no declarations
import { clashes, readOwned } from '../../scripts/check-rpm-files.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A root like dom0's: Qubes' commands (files of random bytes, one a symbolic link, one missing) and our package. */
function makeRoot(dir: string): string {
  const root = path.join(dir, 'root');
  fs.mkdirSync(path.join(root, 'usr/bin'), { recursive: true });
  fs.mkdirSync(path.join(root, COMMAND_DIR), { recursive: true });
  for (const [i, name] of COMMANDS.entries()) {
    fs.writeFileSync(path.join(root, COMMAND_DIR, name), 'ours\n');
    const p = path.join(root, 'usr/bin', name);
    if (name === 'qubes-policy-editor') continue; // Qubes without it: nothing to keep
    if (name === 'qrexec-policy-restore') fs.symlinkSync('../lib/qubes/somewhere', p);
    else {
      fs.writeFileSync(p, crypto.randomBytes(100 + i * 37));
      fs.chmodSync(p, i % 2 ? 0o755 : 0o750);
      fs.utimesSync(p, 1_000_000 + i, 2_000_000 + i);
    }
  }
  fs.writeFileSync(path.join(root, 'usr/bin/unrelated'), 'not ours, not theirs\n');
  return root;
}

/** Everything in `dir`, as a comparable text: type, mode, owner, mtime, bytes' hash or link target. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d).sort()) {
      const p = path.join(d, e);
      const st = fs.lstatSync(p);
      const rel = path.relative(dir, p);
      if (st.isDirectory()) {
        out.push(`${rel}/ ${st.mode.toString(8)}`);
        walk(p);
      } else if (st.isSymbolicLink()) out.push(`${rel} -> ${fs.readlinkSync(p)}`);
      else out.push(`${rel} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs} ${crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
    }
  };
  walk(dir);
  return out;
}

/** A systemctl on PATH that appends its arguments to a file (and fails when told to). */
function fakeSystemctl(dir: string): { env: NodeJS.ProcessEnv; calls: () => string[] } {
  const bin = path.join(dir, 'fakebin');
  const log = path.join(dir, 'systemctl.log');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, 'systemctl'), `#!/bin/sh\necho "$*" >> '${log}'\nif [ "$FAIL_SYSTEMCTL" = quiet ]; then exit 5; fi\nif [ -n "$FAIL_SYSTEMCTL" ]; then echo "Unit not found." >&2; exit 5; fi\n`, { mode: 0o755 });
  return {
    env: { PATH: `${bin}:${process.env['PATH']}` },
    calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : []),
  };
}

async function cli(args: string[], env: NodeJS.ProcessEnv) {
  const c = captureIo(env);
  const status = await umbrellaMain(['install-dom0', ...args], c.io);
  return { status, out: c.out, err: c.err };
}

t.test('--enable then --disable in a test root: shown first, then done, then undone byte for byte', async (t) => {
  const dir = t.testdir({});
  const root = makeRoot(dir);
  const sc = fakeSystemctl(dir);
  const before = snapshot(root);

  const dry = await cli(['--enable', '--dry-run', '--root', root], sc.env);
  t.equal(dry.status, 0);
  t.match(dry.out, `install-dom0 --enable would in ${root}:`);
  t.match(dry.out, `replace /usr/bin/qrexec-policy-exec with a link to ${COMMAND_DIR}/qrexec-policy-exec (Qubes' file kept as ${STATE_DIR}/backup/qrexec-policy-exec)`);
  t.match(dry.out, `link /usr/bin/qubes-policy-editor to ${COMMAND_DIR}/qubes-policy-editor (there is no such file now)`);
  t.match(dry.out, `run systemctl --root=${root} disable qubes-qrexec-policy-daemon.service`);
  t.same(snapshot(root), before, '--dry-run changes nothing');
  t.same(sc.calls(), [], '--dry-run runs nothing');

  const on = await cli(['--enable', '--root', root], sc.env);
  t.equal(on.status, 0, on.err);
  t.match(on.out, /will in .*:\n  replace \/usr\/bin\/qrexec-policy /);
  t.match(on.out, 'done: qrexec-daemon now asks qrexec-policy');
  for (const name of COMMANDS) t.equal(fs.readlinkSync(path.join(root, 'usr/bin', name)), `${COMMAND_DIR}/${name}`, `${name} is ours`);
  t.equal(fs.readlinkSync(path.join(root, STATE_DIR, 'backup/qrexec-policy-restore')), '../lib/qubes/somewhere', 'a link is kept as a link');
  t.same(sc.calls(), [`--root=${root} disable qubes-qrexec-policy-daemon.service`, `--root=${root} enable qrexec-policy-daemon.service`]);

  // run again: every name is ours already, only the units are set again
  const again = await cli(['--enable', '--root', root], sc.env);
  t.equal(again.status, 0);
  t.notMatch(again.out, '/usr/bin/');

  const off = await cli(['--disable', '--root', root], sc.env);
  t.equal(off.status, 0, off.err);
  t.match(off.out, "put Qubes' /usr/bin/qrexec-policy-exec back from");
  t.match(off.out, 'remove the link /usr/bin/qubes-policy-editor (there was no such file before)');
  t.match(off.out, "done: Qubes' policy programs are back");
  t.same(sc.calls().slice(-2), [`--root=${root} disable qrexec-policy-daemon.service`, `--root=${root} enable qubes-qrexec-policy-daemon.service`]);
  t.same(snapshot(root).filter((l) => !l.startsWith('var/')), before, 'every file as it was, byte for byte');
  t.notOk(fs.existsSync(path.join(root, STATE_DIR)), 'no state left behind');

  const nothing = await cli(['--disable', '--root', root], sc.env);
  t.equal(nothing.status, 0);
  t.match(nothing.out, "nothing to do (Qubes' programs are in use)");
});

t.test('across file systems (EXDEV) the files are copied as they are, and still come back byte for byte', async (t) => {
  const dir = t.testdir({});
  const root = makeRoot(dir);
  const sc = fakeSystemctl(dir);
  const before = snapshot(root);
  const exdev = () => {
    throw Object.assign(new Error('cross-device link'), { code: 'EXDEV' });
  };
  const c = captureIo(sc.env);
  t.equal(await runInstallDom0({ enable: true, root, dryRun: false }, c.io, { link: exdev, rename: exdev }), 0, c.err);
  t.not(fs.lstatSync(path.join(root, STATE_DIR, 'backup/qrexec-policy-exec')).ino, undefined);
  t.equal(await runInstallDom0({ enable: false, root, dryRun: false }, c.io, { link: exdev, rename: exdev }), 0, c.err);
  t.same(snapshot(root).filter((l) => !l.startsWith('var/')), before);
});

t.test('a package update that put a Qubes file back meanwhile: --disable keeps the new file', async (t) => {
  const dir = t.testdir({});
  const root = makeRoot(dir);
  const sc = fakeSystemctl(dir);
  t.equal((await cli(['--enable', '--root', root], sc.env)).status, 0);
  const p = path.join(root, 'usr/bin/qrexec-policy-exec');
  fs.rmSync(p);
  fs.writeFileSync(p, 'a newer qrexec-policy-exec from an update\n');
  fs.rmSync(path.join(root, 'usr/bin/qubes-policy-editor'));
  fs.writeFileSync(path.join(root, 'usr/bin/qubes-policy-editor'), 'new in an update\n');
  const off = await cli(['--disable', '--root', root], sc.env);
  t.equal(off.status, 0, off.err);
  t.match(off.out, 'keep /usr/bin/qrexec-policy-exec: a package update replaced our link since; drop the older');
  t.match(off.out, /keep \/usr\/bin\/qubes-policy-editor: a package update replaced our link since\n/);
  t.equal(fs.readFileSync(p, 'utf8'), 'a newer qrexec-policy-exec from an update\n');
});

t.test('refusals and failures: one line naming what, exit 1 (usage: 2)', async (t) => {
  const dir = t.testdir({});
  const root = makeRoot(dir);
  const sc = fakeSystemctl(dir);
  t.equal((await cli(['--root', root], sc.env)).status, 2, 'neither --enable nor --disable');
  const both = await cli(['--enable', '--disable', '--root', root], sc.env);
  t.equal(both.status, 2);
  t.match(both.err, 'give one of --enable or --disable');

  fs.rmSync(path.join(root, COMMAND_DIR, 'qrexec-policy-exec'));
  const missing = await cli(['--enable', '--root', root], sc.env);
  t.equal(missing.status, 1);
  t.equal(missing.err, `qrexec-policy install-dom0: ${COMMAND_DIR}/qrexec-policy-exec does not exist under ${root}: install the qrexec-policy package first\n`);
  fs.writeFileSync(path.join(root, COMMAND_DIR, 'qrexec-policy-exec'), 'ours\n');

  const failing = await cli(['--enable', '--root', root], { ...sc.env, FAIL_SYSTEMCTL: '1' });
  t.equal(failing.status, 1);
  t.match(failing.err, `could not run systemctl --root=${root} disable qubes-qrexec-policy-daemon.service: exit status 5: Unit not found.`);
  t.match((await cli(['--enable', '--root', root], { ...sc.env, FAIL_SYSTEMCTL: 'quiet' })).err, /disable qubes-qrexec-policy-daemon.service: exit status 5\n$/);
  // the files were switched and recorded: --disable undoes them
  t.equal((await cli(['--disable', '--root', root], sc.env)).status, 0);
  t.notOk(fs.lstatSync(path.join(root, 'usr/bin/qrexec-policy-exec')).isSymbolicLink());

  const noSystemctl = await cli(['--enable', '--root', root], { PATH: path.join(dir, 'empty') });
  t.equal(noSystemctl.status, 1);
  t.match(noSystemctl.err, 'systemctl: does not exist');

  fs.writeFileSync(path.join(root, STATE_DIR, 'state.json'), '{"taken": {"rm": "kept"}}');
  const bad = await cli(['--disable', '--root', root], sc.env);
  t.equal(bad.status, 1);
  t.match(bad.err, `${STATE_DIR}/state.json: not a state file this version wrote (unknown entry rm)`);
  fs.writeFileSync(path.join(root, STATE_DIR, 'state.json'), '[]');
  t.match((await cli(['--disable', '--root', root], sc.env)).err, 'no "taken"');
  fs.rmSync(path.join(root, STATE_DIR, 'state.json'));
  fs.mkdirSync(path.join(root, STATE_DIR, 'state.json'));
  t.match((await cli(['--disable', '--root', root], sc.env)).err, 'state.json: is a directory');

  // a path that cannot be looked at, and a step that fails on the file system
  fs.rmSync(path.join(root, STATE_DIR, 'state.json'), { recursive: true });
  const fileRoot = path.join(dir, 'a-file');
  fs.writeFileSync(fileRoot, '');
  t.match((await cli(['--enable', '--root', fileRoot], sc.env)).err, 'a part of the path is not a directory');
  t.throws(() => apply([{ kind: 'give-back', name: 'qubes-policy', had: 'kept', replaced: false }], {
    root,
    systemctl: () => ({ status: 0, output: '' }),
    fsOps: { link: fs.linkSync, rename: () => { throw Object.assign(new Error('busy'), { code: 'EBUSY' }); } },
  }), { message: /could not put Qubes' \/usr\/bin\/qubes-policy back .*EBUSY/ });
  t.throws(() => apply([{ kind: 'take', name: 'qubes-policy', had: 'kept' }], {
    root,
    systemctl: () => ({ status: 0, output: '' }),
    fsOps: { link: () => { throw Object.assign(new Error('busy'), { code: 'EBUSY' }); }, rename: fs.renameSync },
  }), { message: /could not replace \/usr\/bin\/qubes-policy .*EBUSY/ });
  t.same(planDisable(path.join(dir, 'nowhere')), []);
});

t.test('--root / runs systemctl with --now (shown, not run: --dry-run)', async (t) => {
  const c = captureIo({});
  const status = await runInstallDom0({ enable: false, root: '/', dryRun: true }, c.io);
  t.equal(status, 0);
  // this machine is not an enabled dom0: nothing to give back
  t.match(c.out, 'nothing to do');
  const dir = t.testdir({});
  const root = makeRoot(dir);
  fs.mkdirSync(path.join(root, STATE_DIR), { recursive: true });
  fs.writeFileSync(path.join(root, STATE_DIR, 'state.json'), '{"taken": {}}');
  t.same(planDisable(root).map((s) => s.kind), ['systemctl', 'systemctl']);
  t.same(systemctlSteps('/', 'a.service', 'b.service'), [
    { kind: 'systemctl', args: ['disable', '--now', 'a.service'] },
    { kind: 'systemctl', args: ['enable', '--now', 'b.service'] },
  ]);
});

t.test("the package's names and Qubes' owned paths", async (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  t.same([...COMMANDS].sort(), Object.keys(pkg.bin).sort(), 'install-dom0 takes over every command of package.json');
  const owned = readOwned(fs.readFileSync(path.join(repo, 'contrib/rpm/qubes-owned-paths.txt'), 'utf8'));
  t.same(clashes(COMMANDS.map((n) => `/usr/bin/${n}`), owned).length, COMMANDS.length, "every command name is also Qubes' (hence ts-NAME)");
  t.same(clashes(COMMANDS.map((n) => `/usr/bin/ts-${n}`), owned), [], 'our names are not');
  t.same(clashes(['/usr/lib/python3.13/site-packages/qrexec/tools/x.py', '/usr/share/man/man1/qrexec-client-vm.1.gz', '/usr/lib/qubes', '/usr/lib/qubesx'], owned), [
    '/usr/lib/python3.13/site-packages/qrexec/tools/x.py (/usr/lib/python3*/site-packages/qrexec/**)',
    '/usr/share/man/man1/qrexec-client-vm.1.gz (/usr/share/man/man1/qrexec-client-vm.1*)',
    '/usr/lib/qubes (/usr/lib/qubes)',
  ]);
});

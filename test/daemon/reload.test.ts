/**
 * Live reload (SPEC §8): any change under the policy or legacy directories
 * (edits, new files, removals, renames, sub-directories created later)
 * is seen by the next request, which never gets an answer from an older
 * policy; a reload that fails denies everything until a later one
 * succeeds, and each transition is logged once. Requests follow changes
 * at once here (no sleeps): the daemon must see the change by itself.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { EventEmitter } from 'node:events';
import { TransitionLog, type Transition } from '../../src/daemon/health.js';
import { fileSpecs, pathSpecs, treeSpecs, walkDirs, Watches } from '../../src/daemon/watch.js';
import { ALLOW_PERSONAL, captureLog, makeTree, policyRequest, request, startDaemon, tempDir, until, UUID, type Tree } from './fixtures/daemon.js';

const allowed = (tree: Tree) => request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy')).then((r) => r.text);
const DENY = 'result=deny\n';
const policyFile = (tree: Tree, name = '30-test.policy') => path.join(tree.policy, name);

t.test('edits, new files, removals and renames are seen by the very next request', async (t) => {
  const tree = makeTree(t, 'qubes.Filecopy * work personal deny\n');
  const d = await startDaemon(t, tree);
  for (let i = 0; i < 5; i++) {
    fs.writeFileSync(policyFile(tree), 'qubes.Filecopy * work personal allow\n');
    t.equal(await allowed(tree), ALLOW_PERSONAL, `edit ${i}: allow`);
    fs.writeFileSync(policyFile(tree), 'qubes.Filecopy * work personal deny\n');
    t.equal(await allowed(tree), DENY, `edit ${i}: deny`);
  }
  // a new file that sorts first wins
  fs.writeFileSync(policyFile(tree, '10-first.policy'), 'qubes.Filecopy * work personal allow\n');
  t.equal(await allowed(tree), ALLOW_PERSONAL);
  // renamed so that it sorts last: the deny comes first again
  fs.renameSync(policyFile(tree, '10-first.policy'), policyFile(tree, '90-last.policy'));
  t.equal(await allowed(tree), DENY);
  // the deny removed: the allow decides
  fs.rmSync(policyFile(tree));
  t.equal(await allowed(tree), ALLOW_PERSONAL);
  // replaced by renaming a new file over it (how editors save)
  fs.writeFileSync(path.join(tree.dir, 'new'), 'qubes.Filecopy * work personal deny\n');
  fs.renameSync(path.join(tree.dir, 'new'), policyFile(tree, '90-last.policy'));
  t.equal(await allowed(tree), DENY);
  // nothing changed: no reload (reading files must not look like a change)
  const reads = () => d.cap.matching(/^debug: policy read: /).length;
  const before = reads();
  for (let i = 0; i < 3; i++) t.equal(await allowed(tree), DENY);
  t.equal(reads(), before, 'not read again');
});

t.test('a broken policy denies everything until fixed; each transition logged once', async (t) => {
  const tree = makeTree(t, 'qubes.Filecopy * work personal allow\n');
  const d = await startDaemon(t, tree);
  t.equal(await allowed(tree), ALLOW_PERSONAL);
  fs.writeFileSync(policyFile(tree, '20-bad.policy'), 'qubes.Filecopy * work personal allow bogus=1\n');
  for (let i = 0; i < 3; i++) t.equal(await allowed(tree), DENY, 'fail closed');
  // another edit with the same error: still one line
  fs.appendFileSync(policyFile(tree, '20-bad.policy'), '# a comment\n');
  t.equal(await allowed(tree), DENY);
  const broken = d.cap.matching(/^error: policy failed to load/);
  t.equal(broken.length, 1, 'logged once');
  t.match(broken[0], new RegExp(`^error: policy failed to load: ${tree.policy}/20-bad\\.policy:1: .*; denying every request until it loads$`));
  t.match(d.cap.matching(/^qrexec: /).at(-1), /denied: policy failed to load: .*20-bad\.policy:1/);
  // fixed
  fs.writeFileSync(policyFile(tree, '20-bad.policy'), '# fixed\n');
  t.equal(await allowed(tree), ALLOW_PERSONAL);
  t.equal(await allowed(tree), ALLOW_PERSONAL);
  t.same(d.cap.matching(/^policy loaded again/), ['policy loaded again: 1 rules from 2 files; answering requests from it']);
  // broken with two errors, then a different problem
  fs.writeFileSync(policyFile(tree, '20-bad.policy'), 'x\ny\n');
  t.equal(await allowed(tree), DENY);
  t.match(d.cap.matching(/^error: policy failed to load/).at(-1), /\(and 1 more error\)/);
  fs.writeFileSync(policyFile(tree, '20-bad.policy'), 'x\ny\nz\n');
  t.equal(await allowed(tree), DENY);
  t.match(d.cap.matching(/^error: policy failed to load/).at(-1), /\(and 2 more errors\)/);
  t.equal(d.cap.matching(/^error: policy failed to load/).length, 3);
});

t.test('files in sub-directories created later are seen (both orders)', async (t) => {
  const tree = makeTree(t, 'qubes.Filecopy * work personal deny\n');
  fs.writeFileSync(policyFile(tree, '10-inc.policy'), '!include-dir include\n');
  const d = await startDaemon(t, tree);
  t.equal(await allowed(tree), DENY, 'the missing directory is an error: deny');
  t.equal(d.cap.matching(/^error: policy failed to load: .*include/).length, 1);
  // the directory appears; a request comes before the file does
  fs.mkdirSync(path.join(tree.policy, 'include'));
  t.equal(await allowed(tree), DENY, 'loaded, nothing in it yet');
  fs.writeFileSync(path.join(tree.policy, 'include', '10-late.policy'), 'qubes.Filecopy * work personal allow\n');
  t.equal(await allowed(tree), ALLOW_PERSONAL, 'the file in the new directory is seen');
  fs.writeFileSync(path.join(tree.policy, 'include', '10-late.policy'), 'qubes.Filecopy * work personal deny notify=no\n');
  t.equal(await allowed(tree), DENY, 'and so is its edit');
  // a deeper directory and its file, both before the next request
  fs.mkdirSync(path.join(tree.policy, 'include', 'deeper'));
  fs.writeFileSync(path.join(tree.policy, 'include', 'deeper', 'x'), 'qubes.Filecopy * work personal allow\n');
  fs.writeFileSync(path.join(tree.policy, 'include', '10-late.policy'), '!include include/deeper/x\n');
  t.equal(await allowed(tree), ALLOW_PERSONAL);
  fs.writeFileSync(path.join(tree.policy, 'include', 'deeper', 'x'), 'qubes.Filecopy * work personal deny\n');
  t.equal(await allowed(tree), DENY, 'an edit two levels down');
});

t.test('included files outside the policy directories, and symbolic links, are watched', async (t) => {
  const tree = makeTree(t, 'qubes.Filecopy * work personal deny\n');
  const outside = path.join(tree.dir, 'outside');
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'x'), 'qubes.Filecopy * work personal allow\n');
  fs.writeFileSync(path.join(outside, 'real.policy'), 'qubes.Filecopy * work personal allow\n');
  fs.writeFileSync(policyFile(tree, '10-inc.policy'), `!include ${outside}/x\n`);
  await startDaemon(t, tree);
  t.equal(await allowed(tree), ALLOW_PERSONAL);
  fs.writeFileSync(path.join(outside, 'x'), 'qubes.Filecopy * work personal deny\n');
  t.equal(await allowed(tree), DENY, 'an edit outside the policy directories');
  fs.writeFileSync(policyFile(tree, '10-inc.policy'), '');
  fs.symlinkSync(path.join(outside, 'real.policy'), policyFile(tree, '05-link.policy'));
  t.equal(await allowed(tree), ALLOW_PERSONAL, 'a new symbolic link');
  fs.writeFileSync(path.join(outside, 'real.policy'), 'qubes.Filecopy * work personal deny\n');
  t.equal(await allowed(tree), DENY, 'an edit of the link target');
});

t.test('the legacy directory: compat files edited, added, and the directory created later', async (t) => {
  const tree = makeTree(t, '!compat-4.0\n');
  const d = await startDaemon(t, tree);
  t.equal(await allowed(tree), DENY);
  t.equal(d.cap.matching(/^error: policy failed to load: .*legacy/).length, 1, 'no legacy directory yet');
  fs.mkdirSync(tree.legacy);
  fs.writeFileSync(path.join(tree.legacy, 'qubes.Filecopy'), 'work personal allow\n');
  t.equal(await allowed(tree), ALLOW_PERSONAL);
  fs.writeFileSync(path.join(tree.legacy, 'qubes.Filecopy+'), 'work personal deny\n');
  t.equal(await allowed(tree), DENY, 'a specific-argument file added');
  fs.rmSync(path.join(tree.legacy, 'qubes.Filecopy+'));
  t.equal(await allowed(tree), ALLOW_PERSONAL);
});

t.test('a policy directory that appears after start-up', async (t) => {
  const tree = makeTree(t);
  fs.rmSync(tree.policy, { recursive: true });
  await startDaemon(t, tree);
  t.equal(await allowed(tree), DENY);
  fs.mkdirSync(tree.policy);
  t.equal(await allowed(tree), DENY, 'empty: no rule');
  fs.writeFileSync(policyFile(tree), 'qubes.Filecopy * work personal allow\n');
  t.equal(await allowed(tree), ALLOW_PERSONAL);
  // removed again, and its parent watched once more
  fs.rmSync(tree.policy, { recursive: true });
  t.equal(await allowed(tree), DENY);
  fs.mkdirSync(tree.policy);
  fs.writeFileSync(policyFile(tree), 'qubes.Filecopy * work personal allow\n');
  t.equal(await allowed(tree), ALLOW_PERSONAL);
});

t.test('a policy directory whose parent is missing too is seen when both appear', async (t) => {
  const tree = makeTree(t);
  const deep = path.join(tree.dir, 'run/qubes/policy.d');
  await startDaemon(t, { ...tree, policy: deep });
  t.equal(await allowed(tree), DENY);
  fs.mkdirSync(deep, { recursive: true });
  fs.writeFileSync(path.join(deep, '50-a.policy'), 'qubes.Filecopy * work personal allow\n');
  t.equal(await allowed(tree), ALLOW_PERSONAL);
});

t.test('the system-info file is re-read when it changes; a broken one denies until fixed', async (t) => {
  const tree = makeTree(t, 'qubes.Filecopy * work personal allow\n');
  const d = await startDaemon(t, tree);
  t.equal(await allowed(tree), ALLOW_PERSONAL);
  const si = JSON.parse(fs.readFileSync(tree.si, 'utf8'));
  si.domains.personal.uuid = '77777777-7777-4777-8777-777777777777';
  // written to a new file and renamed over the old one
  fs.writeFileSync(tree.si + '.new', JSON.stringify(si));
  fs.renameSync(tree.si + '.new', tree.si);
  t.equal(await allowed(tree), ALLOW_PERSONAL.replace(UUID.personal, '77777777-7777-4777-8777-777777777777'));
  fs.writeFileSync(tree.si, '{');
  t.equal(await allowed(tree), DENY);
  t.equal(await allowed(tree), DENY);
  t.equal(d.cap.matching(/^error: system info failed to load: /).length, 1);
  fs.writeFileSync(tree.si, JSON.stringify(si));
  t.equal(await allowed(tree), ALLOW_PERSONAL.replace(UUID.personal, '77777777-7777-4777-8777-777777777777'));
  t.same(d.cap.matching(/^system info loaded again/), [`system info loaded again: 6 qubes from ${tree.si}; answering requests from it`]);
  // other files next to it are not its business
  // (the debug timing line of each answer aside)
  const lines = () => d.cap.lines.filter((l) => !l.startsWith('debug: timing: ')).length;
  const n = lines();
  fs.writeFileSync(path.join(tree.dir, 'unrelated'), 'x');
  t.equal(await allowed(tree), ALLOW_PERSONAL.replace(UUID.personal, '77777777-7777-4777-8777-777777777777'));
  t.equal(lines(), n + 1);
});

t.test('a policy directory switched as a symbolic link (mv -T), or replaced by rename, is seen by the next request', async (t) => {
  const tree = makeTree(t, 'qubes.Filecopy * work personal allow\n');
  const at = (...p: string[]) => path.join(tree.dir, ...p);
  fs.renameSync(tree.policy, at('v1'));
  fs.mkdirSync(at('v2'));
  fs.writeFileSync(at('v2', '30-test.policy'), 'qubes.Filecopy * work personal deny\n');
  fs.symlinkSync('v1', tree.policy);
  const switchTo = (target: string) => {
    fs.symlinkSync(target, at('tmp-link'));
    fs.renameSync(at('tmp-link'), tree.policy);
  };
  const d = await startDaemon(t, tree);
  t.equal(await allowed(tree), ALLOW_PERSONAL);
  switchTo('v2');
  t.equal(await allowed(tree), DENY, 'the link switched');
  fs.writeFileSync(at('v2', '30-test.policy'), 'qubes.Filecopy * work personal allow\n');
  t.equal(await allowed(tree), ALLOW_PERSONAL, 'an edit in the tree it points to now');
  const reads = () => d.cap.matching(/^debug: policy read: /).length;
  const before = reads();
  fs.writeFileSync(at('v1', '30-test.policy'), 'qubes.Filecopy * work personal deny\n');
  t.equal(await allowed(tree), ALLOW_PERSONAL, 'the old tree is not the policy any more');
  t.equal(reads(), before, 'nor watched');
  // a new tree with a syntax error: denies at once (the issue saw allows until SIGHUP)
  fs.mkdirSync(at('v3'));
  fs.writeFileSync(at('v3', '30-test.policy'), 'qubes.Filecopy * work personal allow bogus=1\n');
  switchTo('v3');
  t.equal(await allowed(tree), DENY);
  t.match(d.cap.matching(/^error: policy failed to load/).at(-1), /policy\.d\/30-test\.policy:1: /);
  // a real directory put in place by renaming
  fs.rmSync(tree.policy);
  fs.mkdirSync(at('v4'));
  fs.writeFileSync(at('v4', '30-test.policy'), 'qubes.Filecopy * work personal allow\n');
  fs.renameSync(at('v4'), tree.policy);
  t.equal(await allowed(tree), ALLOW_PERSONAL, 'a directory renamed into place');
  fs.renameSync(tree.policy, at('v4'));
  fs.renameSync(at('v2'), tree.policy);
  t.equal(await allowed(tree), ALLOW_PERSONAL, 'and swapped for another by renames');
  fs.writeFileSync(policyFile(tree), 'qubes.Filecopy * work personal deny\n');
  t.equal(await allowed(tree), DENY, 'an edit in the directory renamed into place');
});

t.test('a symbolic link higher up the policy path, the legacy directory and the system-info file behind links', async (t) => {
  const tree = makeTree(t, '!compat-4.0\n');
  const at = (...p: string[]) => path.join(tree.dir, ...p);
  // etc -> etc-1, and the policy directory is etc/policy.d
  fs.mkdirSync(at('etc-1'));
  fs.mkdirSync(at('etc-2'));
  fs.renameSync(tree.policy, at('etc-1', 'policy.d'));
  fs.cpSync(at('etc-1', 'policy.d'), at('etc-2', 'policy.d'), { recursive: true });
  fs.symlinkSync('etc-1', at('etc'));
  for (const [v, action] of [['1', 'allow'], ['2', 'deny']]) {
    fs.mkdirSync(at(`legacy-${v}`));
    fs.writeFileSync(at(`legacy-${v}`, 'qubes.Filecopy'), `work personal ${action}\n`);
  }
  fs.symlinkSync('legacy-1', tree.legacy);
  const si = JSON.parse(fs.readFileSync(tree.si, 'utf8'));
  fs.renameSync(tree.si, at('si-1.json'));
  si.domains.personal.uuid = '77777777-7777-4777-8777-777777777777';
  fs.writeFileSync(at('si-2.json'), JSON.stringify(si));
  fs.symlinkSync('si-1.json', tree.si);
  const swap = (link: string, target: string) => {
    fs.symlinkSync(target, at('tmp-link'));
    fs.renameSync(at('tmp-link'), link);
  };
  await startDaemon(t, { ...tree, policy: at('etc', 'policy.d') });
  t.equal(await allowed(tree), ALLOW_PERSONAL);
  swap(tree.si, 'si-2.json');
  const moved = ALLOW_PERSONAL.replace(UUID.personal, '77777777-7777-4777-8777-777777777777');
  t.equal(await allowed(tree), moved, 'the system-info link switched');
  swap(tree.legacy, 'legacy-2');
  t.equal(await allowed(tree), DENY, 'the legacy link switched');
  swap(tree.legacy, 'legacy-1');
  t.equal(await allowed(tree), moved);
  fs.writeFileSync(at('etc-2', 'policy.d', '30-test.policy'), 'qubes.Filecopy * work personal deny\n');
  swap(at('etc'), 'etc-2');
  t.equal(await allowed(tree), DENY, 'a link above the policy directory switched');
});

t.test('reload() (SIGHUP) re-reads what no watch can see', async (t) => {
  const tree = makeTree(t, 'qubes.Filecopy * work personal deny\n');
  const elsewhere = path.join(tree.dir, 'elsewhere');
  fs.mkdirSync(elsewhere);
  // a second name for the policy file, in a directory nobody watches
  fs.linkSync(policyFile(tree), path.join(elsewhere, 'hardlink'));
  const d = await startDaemon(t, tree);
  t.equal(await allowed(tree), DENY);
  fs.writeFileSync(path.join(elsewhere, 'hardlink'), 'qubes.Filecopy * work personal allow\n');
  t.equal(await allowed(tree), DENY, 'invisible to the watches');
  d.reload();
  t.equal(await allowed(tree), ALLOW_PERSONAL);
});

/** Replace fs.watch for one test (the daemon's modules see the change through the ESM bindings). */
function mockWatch(t: Parameters<Parameters<typeof t.test>[1]>[0], impl: typeof fs.watch): void {
  const cjsFs = createRequire(import.meta.url)('node:fs') as typeof fs;
  const real = cjsFs.watch;
  cjsFs.watch = impl;
  syncBuiltinESMExports();
  t.teardown(() => {
    cjsFs.watch = real;
    syncBuiltinESMExports();
  });
}

class FakeWatcher extends EventEmitter {
  closed = false;
  close() {
    this.closed = true;
  }
}

t.test('what cannot be watched is read again for every request, with a warning once', async (t) => {
  const tree = makeTree(t, 'qubes.Filecopy * work personal deny\n');
  let fail = true;
  const real = fs.watch;
  mockWatch(t, ((p: string, ...rest: unknown[]) => {
    if (fail && p === tree.policy) throw Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' });
    return (real as (...a: unknown[]) => fs.FSWatcher)(p, ...rest);
  }) as typeof fs.watch);
  const d = await startDaemon(t, tree);
  t.equal(await allowed(tree), DENY);
  fs.writeFileSync(path.join(tree.dir, 'new'), 'qubes.Filecopy * work personal allow\n');
  fs.linkSync(path.join(tree.dir, 'new'), policyFile(tree, '10-a.policy'));
  t.equal(await allowed(tree), ALLOW_PERSONAL);
  t.same(d.cap.matching(/watch/), ['warning: policy: cannot watch for changes; reading it again for every request']);
  fail = false;
  fs.writeFileSync(policyFile(tree, '10-a.policy'), 'qubes.Filecopy * work personal deny\n');
  t.equal(await allowed(tree), DENY);
  t.same(d.cap.matching(/watch/).at(-1), 'policy: watching for changes again');
  t.equal(await allowed(tree), DENY);
  t.equal(d.cap.matching(/watch/).length, 2);
});

t.test('Watches: one watch per directory, name filters, events about the directory itself, watch errors', async (t) => {
  const made: { p: string; w: FakeWatcher; cb: (e: string, name: string | null) => void }[] = [];
  mockWatch(t, ((p: string, _o: unknown, cb: (e: string, name: string | null) => void) => {
    const w = new FakeWatcher();
    made.push({ p, w, cb });
    return w as unknown as fs.FSWatcher;
  }) as unknown as typeof fs.watch);
  let changes = 0;
  const w = new Watches(() => changes++);
  t.ok(w.replace([{ dir: '/a', only: 'x' }, { dir: '/b' }, { dir: '/b' }, { dir: '/a', only: 'z' }, { dir: '/b', only: 'y' }]));
  t.same(made.map((m) => m.p), ['/a', '/b'], 'one watch per directory');
  made[0]!.cb('rename', 'y');
  t.equal(changes, 0, 'another name in a filtered directory');
  made[0]!.cb('change', 'x');
  made[0]!.cb('change', 'z');
  made[0]!.cb('change', null);
  made[0]!.cb('rename', 'a');
  made[1]!.cb('rename', 'anything');
  t.equal(changes, 5, 'the names asked for, no name, the directory itself, and anything in a whole directory');
  made[1]!.w.emit('error', new Error('gone'));
  t.equal(changes, 6);
  t.ok(made[1]!.w.closed, 'a failed watch is closed');
  t.ok(w.has({ dir: '/a', only: 'x' }));
  t.notOk(w.has({ dir: '/a', only: 'y' }));
  t.notOk(w.has({ dir: '/a' }));
  t.ok(w.has({ dir: '/b', only: 'q' }), 'a whole directory has every name');
  t.ok(w.add([{ dir: '/c' }, { dir: '/a', only: 'x' }, { dir: '/a', only: 'y' }, { dir: '/a' }]));
  t.equal(made.length, 3);
  t.ok(w.has({ dir: '/a' }), 'widened to the whole directory');
  made[0]!.cb('rename', 'other');
  t.equal(changes, 7);
  w.replace([{ dir: '/c' }]);
  t.ok(made[0]!.w.closed && !made[3]!.w.closed, 'old watches closed, new ones kept');
  w.close();
  t.ok(made[3]!.w.closed);
});

t.test('walkDirs, pathSpecs, treeSpecs, fileSpecs', async (t) => {
  const dir = tempDir(t);
  const up = (p: string) => pathSpecs(p).specs;
  fs.mkdirSync(path.join(dir, 'a/b/c'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'd'));
  fs.writeFileSync(path.join(dir, 'f'), '');
  fs.symlinkSync(path.join(dir, 'a'), path.join(dir, 'link'));
  t.same(walkDirs(dir).sort(), [dir, `${dir}/a`, `${dir}/a/b`, `${dir}/a/b/c`, `${dir}/d`].sort(), 'links not followed');
  t.equal(walkDirs(dir, 2).length, 2, 'bounded');
  // every component, as an entry of the directory holding it
  const parts = dir.split('/').filter(Boolean);
  const chain = parts.map((name, i) => ({ dir: '/' + parts.slice(0, i).join('/'), only: name }));
  t.same(pathSpecs(dir), { specs: chain, real: dir, isDir: true });
  t.same(pathSpecs('/'), { specs: [], real: '/', isDir: true });
  t.same(pathSpecs(path.join(dir, 'f')), { specs: [...chain, { dir, only: 'f' }], real: path.join(dir, 'f'), isDir: false });
  t.same(treeSpecs(path.join(dir, 'f')), [...chain, { dir, only: 'f' }], 'a file where a tree should be: just its name');
  // a missing path: watched for up to its first missing component
  t.same(pathSpecs(path.join(dir, 'missing/deeper')), { specs: [...chain, { dir, only: 'missing' }], real: null, isDir: false });
  t.same(treeSpecs(path.join(dir, 'missing/deeper')), [...chain, { dir, only: 'missing' }], 'the nearest existing directory, for the next one down');
  // a tree: the path to it and every directory under it
  t.same(treeSpecs(path.join(dir, 'a')), [...chain, { dir, only: 'a' }, { dir: `${dir}/a` }, { dir: `${dir}/a/b` }, { dir: `${dir}/a/b/c` }]);
  t.same(fileSpecs(path.join(dir, 'f')), [...chain, { dir, only: 'f' }]);
  t.same(fileSpecs(path.join(dir, 'd'), true), [...chain, { dir, only: 'd' }, { dir: `${dir}/d` }], 'a directory listed: its entries too');
  t.same(fileSpecs(path.join(dir, 'gone'), true), [...chain, { dir, only: 'gone' }]);
  // symbolic links: the link's entry, then where it points (relative links from the link's directory)
  t.same(pathSpecs(path.join(dir, 'link/b')), {
    specs: [...chain, { dir, only: 'link' }, ...chain, { dir, only: 'a' }, { dir: `${dir}/a`, only: 'b' }],
    real: `${dir}/a/b`,
    isDir: true,
  });
  fs.symlinkSync('a/b', path.join(dir, 'rel'));
  fs.symlinkSync('rel', path.join(dir, 'rel2'));
  t.same(up(path.join(dir, 'rel2/c')), [...chain, { dir, only: 'rel2' }, ...chain, { dir, only: 'rel' }, ...chain, { dir, only: 'a' }, { dir: `${dir}/a`, only: 'b' }, { dir: `${dir}/a/b`, only: 'c' }]);
  t.equal(pathSpecs(path.join(dir, 'rel2/c')).real, `${dir}/a/b/c`);
  t.same(treeSpecs(path.join(dir, 'link')).slice(-3), [{ dir: `${dir}/a` }, { dir: `${dir}/a/b` }, { dir: `${dir}/a/b/c` }], 'a linked tree is walked where it is');
  // links that loop are given up on, as the kernel does
  fs.symlinkSync('loop2', path.join(dir, 'loop1'));
  fs.symlinkSync('loop1', path.join(dir, 'loop2'));
  const loop = pathSpecs(path.join(dir, 'loop1/x'));
  t.equal(loop.real, null);
  t.ok(loop.specs.length > 40 && loop.specs.length < 40 * (chain.length + 2), 'bounded');
  // a directory that cannot be read (it vanished) is still the root of its walk
  t.same(walkDirs(path.join(dir, 'gone')), [path.join(dir, 'gone')]);
});

t.test('TransitionLog: each state change once', async (t) => {
  const cap = captureLog();
  const log = new TransitionLog(cap.log);
  const at = (error: string | null, watching = true): Transition => ({ subject: 'policy', error, summary: '2 rules from 1 files', watching });
  log.note(at(null));
  log.note(at(null));
  log.note(at('bad'));
  log.note(at('bad'));
  log.note(at('worse', false));
  log.note(at('worse', false));
  log.note(at(null, false));
  log.note(at(null, true));
  log.note({ ...at('broken from the start'), subject: 'system info' });
  t.same(cap.lines, [
    'policy loaded: 2 rules from 1 files',
    'error: policy failed to load: bad; denying every request until it loads',
    'error: policy failed to load: worse; denying every request until it loads',
    'warning: policy: cannot watch for changes; reading it again for every request',
    'policy loaded again: 2 rules from 1 files; answering requests from it',
    'policy: watching for changes again',
    'error: system info failed to load: broken from the start; denying every request until it loads',
  ]);
});

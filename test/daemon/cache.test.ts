/**
 * Settled reads, piece by piece (cache.ts, snapshot.ts): what a read looked
 * at is remembered and checked afterwards; a read that overlapped a change,
 * or came too soon after one, is thrown away and done again once the tree is
 * quiet; a tree that never settles is read as it is at the limit. The real
 * daemon under real edits is in settle.test.ts.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ReloadingCache, QUIET_MS, SETTLE_LIMIT_MS, WAIT_LIMIT_MS, type CacheHooks } from '../../src/daemon/cache.js';
import { Snapshot } from '../../src/daemon/snapshot.js';
import { loadPolicySet } from '../../src/policy/policy.js';
import { SystemInfoError } from '../../src/policy/system-info.js';
import { FileSourceError, nodeFileSource, type FileSource } from '../../src/parser/file-source.js';
import { readSystemInfoFile } from '../../src/io/sources.js';
import { TransitionLog } from '../../src/daemon/health.js';
import { policySource, systemInfoFile } from '../../src/daemon/sources.js';
import { captureLog, makeTree, tempDir, until } from './fixtures/daemon.js';

/** Settling switched off: only the watching and loading logic is under test. */
const NO_SETTLE = { quietMs: 0, limitMs: 1000, waitMs: 10_000 };

function cacheOf<T>(t: Parameters<Parameters<typeof t.test>[1]>[0], hooks: CacheHooks<T>, times = NO_SETTLE): ReloadingCache<T> {
  const cache = new ReloadingCache<T>(hooks, times);
  t.teardown(() => cache.close());
  return cache;
}

t.test('the documented bounds (docs/daemon.md)', async (t) => {
  t.equal(QUIET_MS, 50);
  t.equal(SETTLE_LIMIT_MS, 150);
  t.equal(WAIT_LIMIT_MS, 200);
  t.ok(QUIET_MS < SETTLE_LIMIT_MS && SETTLE_LIMIT_MS < WAIT_LIMIT_MS);
});

t.test('Snapshot: what was looked at is checked again: edits, replacements, link switches, appearances', async (t) => {
  const dir = tempDir(t);
  const f = path.join(dir, 'f');
  const at = (n: string) => path.join(dir, n);
  fs.writeFileSync(f, 'one');
  fs.mkdirSync(at('a'));
  fs.mkdirSync(at('b'));
  fs.symlinkSync('a', at('link'));

  let s = new Snapshot();
  s.stat(f);
  s.resolve(at('link'));
  s.stat(at('missing'));
  s.resolve(at('missing'));
  t.ok(s.unchanged(), 'nothing changed');
  t.equal(s.newestChangeMs, Number(fs.statSync(f, { bigint: true }).ctimeNs / 1_000_000n), 'the newest change time of what was found');
  fs.appendFileSync(f, 'two');
  t.notOk(s.unchanged(), 'an edit');

  s = new Snapshot();
  s.stat(f);
  fs.writeFileSync(at('f.new'), fs.readFileSync(f));
  fs.renameSync(at('f.new'), f);
  t.notOk(s.unchanged(), 'replaced by a file with the same bytes');

  s = new Snapshot();
  s.resolve(at('link'));
  fs.symlinkSync('b', at('tmp'));
  fs.renameSync(at('tmp'), at('link'));
  t.notOk(s.unchanged(), 'a link switched');

  s = new Snapshot();
  s.stat(at('missing'));
  fs.writeFileSync(at('missing'), '');
  t.notOk(s.unchanged(), 'something appeared');

  s = new Snapshot();
  s.stat(f);
  s.stat(f);
  t.ok(s.unchanged(), 'looked at twice, the same both times');
  fs.appendFileSync(f, 'three');
  s.stat(f);
  t.notOk(s.unchanged(), 'different the second time it was looked at during the read');
});

t.test('Snapshot.source(): a policy read through it is checked file by file and directory by directory', async (t) => {
  const dir = tempDir(t);
  const pd = path.join(dir, 'policy.d');
  fs.mkdirSync(pd);
  fs.writeFileSync(path.join(pd, '10-a.policy'), '!include-dir inc\n');
  fs.mkdirSync(path.join(pd, 'inc'));
  fs.writeFileSync(path.join(pd, 'inc', 'x.policy'), 'qubes.Filecopy * work personal allow\n');
  const read = () => {
    const s = new Snapshot();
    const p = loadPolicySet({ paths: [pd], legacyPath: path.join(dir, 'legacy'), fs: s.source() });
    t.equal(p.error, null);
    t.equal(p.rules.length, 1);
    t.ok(s.unchanged());
    return s;
  };
  let s = read();
  fs.appendFileSync(path.join(pd, 'inc', 'x.policy'), '# more\n');
  t.notOk(s.unchanged(), 'an included file edited');
  s = read();
  fs.writeFileSync(path.join(pd, 'inc', 'y'), '');
  t.notOk(s.unchanged(), 'a file added to an included directory');
  s = read();
  fs.writeFileSync(path.join(pd, 'README'), '');
  t.notOk(s.unchanged(), 'anything added to a policy directory');
});

t.test('ReloadingCache: a read that overlaps a change is thrown away and done again once the tree is quiet', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'f');
  fs.writeFileSync(file, 'v1');
  let writeDuringRead: string | null = null;
  const cache = cacheOf(
    t,
    {
      roots: () => [{ dir }],
      load: (seen) => {
        seen.stat(file);
        const value = fs.readFileSync(file, 'utf8');
        // a writer gets in between the read and its end
        if (writeDuringRead !== null) fs.writeFileSync(file, writeDuringRead);
        writeDuringRead = null;
        return { value, deps: [] };
      },
      loaded: () => {},
    },
    { quietMs: 100, limitMs: 5000, waitMs: 10_000 },
  );
  t.equal(await cache.get(), 'v1');
  t.equal(cache.get(), 'v1', 'settled: at once, no promise');
  writeDuringRead = 'v3';
  const t0 = performance.now();
  fs.writeFileSync(file, 'v2');
  await until(() => cache.get() instanceof Promise, 2000, 'the change to be seen');
  t.equal(await cache.get(), 'v3', 'never v2, which was being replaced while it was read');
  t.ok(cache.unsettledReads >= 1, `${cache.unsettledReads} reads thrown away`);
  // the last write was during the first read: the kept read came a quiet period after it (ctime is coarse: a tick of slack)
  t.ok(performance.now() - t0 >= 100 - 15, `kept after ${Math.round(performance.now() - t0)} ms`);
  t.equal(cache.loads, 2);
});

t.test('ReloadingCache: a tree that never settles is read as it is at the limit', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'f');
  fs.writeFileSync(file, '0');
  const cache = cacheOf(
    t,
    {
      roots: () => [{ dir }],
      load: (seen) => {
        seen.stat(file);
        return { value: Number(fs.readFileSync(file, 'utf8')), deps: [] };
      },
      loaded: () => {},
    },
    { quietMs: 50, limitMs: 300, waitMs: 10_000 },
  );
  t.equal(await cache.get(), 0);
  // a writer that never pauses for as long as the quiet period
  let n = 0;
  const writer = setInterval(() => fs.writeFileSync(file, String(++n)), 10);
  t.teardown(() => clearInterval(writer));
  await until(() => cache.get() instanceof Promise, 2000, 'the change to be seen');
  const v = await cache.get();
  t.ok(v >= 1, `read as it was (${v}) while it kept changing`);
  t.ok(cache.unsettledReads >= 1, 'a read past the limit found it changing, a quiet period before it was read as it was');
  clearInterval(writer);
});

t.test('ReloadingCache: a request that waited the limit is answered from the last complete value, never a half-read one', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'f');
  fs.writeFileSync(file, '0');
  let churn = false;
  let n = 0;
  const cache = cacheOf(
    t,
    {
      roots: () => [{ dir }],
      load: (seen) => {
        seen.stat(file);
        const value = fs.readFileSync(file, 'utf8');
        if (churn) fs.writeFileSync(file, String(++n));
        return { value, deps: [] };
      },
      loaded: () => {},
    },
    // the tree is read as it is only after 5 s; requests wait 200 ms at most
    { quietMs: 50, limitMs: 5000, waitMs: 200 },
  );
  t.equal(await cache.get(), '0');
  churn = true;
  cache.invalidate();
  const first = cache.get();
  await new Promise((r) => setTimeout(r, 100));
  const second = cache.get();
  t.equal(await first, '0', 'the last complete value');
  t.equal(cache.waitedOut, 1, 'the second request has not waited long enough yet');
  t.equal(await second, '0');
  t.equal(cache.waitedOut, 2);
  churn = false;
  await until(() => cache.get() === String(n), 5000, 'the tree to settle at last');
});

t.test('ReloadingCache: a tree that was quiet in between had settled: a new change starts a new count towards the limit', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'f');
  fs.writeFileSync(file, 'v1');
  const cache = cacheOf(
    t,
    {
      roots: () => [{ dir }],
      load: (seen) => {
        seen.stat(file);
        return { value: fs.readFileSync(file, 'utf8'), deps: [] };
      },
      loaded: () => {},
    },
    { quietMs: 50, limitMs: 60, waitMs: 10_000 },
  );
  t.equal(await cache.get(), 'v1');
  await new Promise((r) => setTimeout(r, 100));
  fs.writeFileSync(file, 'v2');
  await until(() => cache.get() instanceof Promise, 2000, 'the change to be seen');
  // the daemon gets no CPU until after the read was due, and a second change comes 60 ms after the first
  await new Promise<void>((resolve) =>
    setTimeout(() => {
      const end = performance.now() + 60;
      while (performance.now() < end);
      fs.writeFileSync(file, 'v3');
      resolve();
    }, 10),
  );
  t.equal(await cache.get(), 'v3');
  // the late read saw the second change too fresh, and was not taken as it was: the tree had been quiet before it
  t.ok(cache.unsettledReads >= 1, `${cache.unsettledReads} reads thrown away`);
});

t.test('ReloadingCache: a daemon starved past the limit does not read a half-made edit as it is: the tree settles a quiet period later', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'f');
  fs.writeFileSync(file, 'v1');
  const kept: string[] = [];
  let writerGetsIn = false;
  const cache = cacheOf(
    t,
    {
      roots: () => [{ dir }],
      load: (seen) => {
        if (writerGetsIn) {
          // the writer starts its next edit just before the late read, too late for its watch event to be seen first
          writerGetsIn = false;
          fs.writeFileSync(file, 'half');
          setTimeout(() => fs.writeFileSync(file, 'v3'), 10);
        }
        seen.stat(file);
        return { value: fs.readFileSync(file, 'utf8'), deps: [] };
      },
      loaded: (v) => void kept.push(v),
    },
    { quietMs: 50, limitMs: 60, waitMs: 10_000 },
  );
  t.equal(await cache.get(), 'v1');
  await new Promise((r) => setTimeout(r, 100));
  fs.writeFileSync(file, 'v2');
  await until(() => cache.get() instanceof Promise, 2000, 'the change to be seen');
  // no CPU for the daemon until past the limit
  writerGetsIn = true;
  const end = performance.now() + 100;
  while (performance.now() < end);
  t.equal(await cache.get(), 'v3');
  t.notOk(kept.includes('half'), `kept ${JSON.stringify(kept)}: never the edit half-made`);
  t.ok(cache.unsettledReads >= 1, `${cache.unsettledReads} reads thrown away`);
});

t.test('ReloadingCache: a change time in the future (the clock set back) is not a change in progress', async (t) => {
  const dir = tempDir(t);
  let future = false;
  const cache = cacheOf(
    t,
    {
      roots: () => [{ dir }],
      load: (seen) => {
        if (future) seen.newestChangeMs = Date.now() + 3_600_000;
        return { value: future, deps: [] };
      },
      loaded: () => {},
    },
    // were it taken for a recent change, the read would wait for the limit: longer than the test may take
    { quietMs: 60_000, limitMs: 600_000, waitMs: 600_000 },
  );
  t.equal(await cache.get(), false);
  future = true;
  cache.invalidate();
  t.equal(await cache.get(), true);
  t.equal(cache.unsettledReads, 0);
});

t.test('ReloadingCache: watches what each load reveals, up to a bound', async (t) => {
  const dir = tempDir(t);
  const dirs = 'abcdefghij'.split('').map((n) => path.join(dir, n));
  for (const d of dirs) fs.mkdirSync(d);
  let loads = 0;
  let grow = true;
  const seen: boolean[] = [];
  const cache = cacheOf(t, {
    roots: () => [{ dir: dirs[0]! }],
    // every load depends on one more directory than the last while `grow` holds
    load: () => ({ value: ++loads, deps: dirs.slice(1, 1 + (grow ? loads : 1)).map((d) => ({ dir: d })) }),
    loaded: (_v, watching) => seen.push(watching),
  });
  t.equal(await cache.get(), 3, 'loaded three times (each revealed a new directory)');
  t.same(seen, [false], 'gave up watching: deps never settled');
  t.equal(await cache.get(), 6, 'so it is read again on the next get');
  grow = false;
  t.equal(await cache.get(), 7);
  t.equal(cache.get(), 7, 'settled: watched, and kept');
  t.same(seen, [false, false, true]);
  t.equal(cache.loads, 3);
  fs.writeFileSync(path.join(dirs[1]!, 'f'), 'x');
  await until(() => cache.loads === 4, 2000, 'a change in a revealed directory');
  t.equal(await cache.get(), 8);
  cache.invalidate();
  t.equal(await cache.get(), 9);
});

t.test('ReloadingCache: an unwatchable dependency means one load per get, not a loop', async (t) => {
  const dir = tempDir(t);
  let loads = 0;
  const seen: boolean[] = [];
  const cache = cacheOf(t, {
    roots: () => [{ dir }],
    // a directory that does not exist cannot be watched
    load: () => ({ value: ++loads, deps: [{ dir: path.join(dir, 'gone') }] }),
    loaded: (_v, watching) => seen.push(watching),
  });
  t.equal(await cache.get(), 1);
  t.equal(await cache.get(), 2, 'read again on the next get (it cannot be watched)');
  t.same(seen, [false, false]);
});

t.test('ReloadingCache: a passing failure (retry) is read again for the next get', async (t) => {
  const dir = tempDir(t);
  let loads = 0;
  const cache = cacheOf(t, {
    roots: () => [{ dir }],
    load: () => ({ value: ++loads, deps: [], retry: loads === 1 }),
    loaded: () => {},
  });
  t.equal(await cache.get(), 1);
  t.equal(await cache.get(), 2);
  t.equal(cache.get(), 2, 'kept once it succeeds');
});

t.test('ReloadingCache: a load that throws leaves nothing that looks current', async (t) => {
  const dir = tempDir(t);
  let loads = 0;
  let fail = false;
  const cache = cacheOf(t, {
    roots: () => [{ dir }],
    load: () => {
      if (fail) throw new Error('boom');
      return { value: ++loads, deps: [] };
    },
    loaded: () => {},
  });
  t.equal(await cache.get(), 1);
  fail = true;
  cache.invalidate();
  await t.rejects(cache.get(), /boom/);
  await t.rejects(cache.get(), /boom/, 'still outdated: the old value is not served');
  fail = false;
  t.equal(await cache.get(), 2);
});

t.test('ReloadingCache: closed, it reads nothing more', async (t) => {
  const dir = tempDir(t);
  let loads = 0;
  const cache = new ReloadingCache<number>({ roots: () => [{ dir }], load: () => ({ value: ++loads, deps: [] }), loaded: () => {} }, NO_SETTLE);
  t.equal(await cache.get(), 1);
  cache.invalidate();
  cache.close();
  fs.writeFileSync(path.join(dir, 'f'), '');
  cache.invalidate();
  await new Promise((r) => setTimeout(r, 50));
  t.equal(loads, 1);
});

t.test('out of file descriptors: the failure names the fix, and the next request reads again without waiting for an edit', async (t) => {
  const tree = makeTree(t, 'qubes.Filecopy * work personal allow\n');
  const cap = captureLog();
  const health = new TransitionLog(cap.log);
  let fail: string | null = 'EMFILE';
  const files: FileSource = {
    ...nodeFileSource,
    read: (f) => {
      if (fail !== null) throw new FileSourceError(f, fail, 'io');
      return nodeFileSource.read(f);
    },
  };
  const policy = policySource([tree.policy], tree.legacy, health.note, files);
  t.teardown(() => policy.close());
  t.match((await policy.get()).error?.describe(), /30-test\.policy: EMFILE$/);
  t.same(cap.matching(/failed to load/), [
    `error: policy failed to load: ${tree.policy}/30-test.policy: EMFILE; out of file descriptors: raise LimitNOFILE in the service unit; denying every request until it loads`,
  ]);
  fail = null;
  t.equal((await policy.get()).error, null, 'read again, with no change to the files');
  t.equal(policy.get() instanceof Promise, false, 'and kept');
  // any other read error is no reason to read again before a change
  fail = 'EIO';
  policy.invalidate();
  t.match((await policy.get()).error?.describe(), /EIO$/);
  t.notMatch(cap.lines.at(-1), /LimitNOFILE/);
  t.equal(policy.get() instanceof Promise, false);

  let siFail = true;
  const si = systemInfoFile(tree.si, health.note, (f) => {
    if (siFail) throw new SystemInfoError(`cannot read system info ${f}: ENFILE`);
    return readSystemInfoFile(f);
  });
  t.teardown(() => si.close());
  t.ok((await si.get()) instanceof SystemInfoError);
  t.match(cap.lines.at(-1), /^error: system info failed to load: cannot read system info .*: ENFILE; out of file descriptors: raise LimitNOFILE in the service unit; denying/);
  siFail = false;
  t.notOk((await si.get()) instanceof SystemInfoError, 'read again at once');
});

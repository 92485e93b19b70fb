/**
 * The daemon as a service manager sees it, each point with the real daemon
 * process (issue 14): a policy directory switched as a link is seen within
 * the settle bound; a log that cannot be written (stderr on /dev/full, or a
 * pipe nobody reads any more) costs no CPU and does not stop SIGTERM; a
 * second daemon on the same socket is refused while the first lives; a
 * worker killed with SIGTERM or SIGKILL is replaced and the service keeps
 * answering; running out of file descriptors is said, with the fix.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { WAIT_LIMIT_MS } from '../../src/daemon/cache.js';
import { startFakeAgent } from '../helpers/fake-agent.js';
import { ALLOW_PERSONAL, cpuMs, makeTree, policyRequest, request, spawnDaemon, until, type DaemonProcess, type Tree } from './fixtures/daemon.js';

// a dozen daemon processes, one after another, on a machine that may be busy
t.setTimeout(120_000);

const DENY = 'result=deny\n';
const answered = (tree: Tree) => request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy')).then((r) => r.text);
/** How many of `n` requests, one after another, were answered as they should. */
async function answeredTimes(tree: Tree, n: number): Promise<number> {
  let ok = 0;
  for (let i = 0; i < n; i++) if ((await answered(tree)) === ALLOW_PERSONAL) ok++;
  return ok;
}
/** Margin on the bounds below: the machine is shared, so a bound is proven with room to spare. */
const SLACK_MS = 800;

/** SIGTERM, and how long the process took to end (and how). */
async function stopTimed(d: DaemonProcess) {
  const t0 = performance.now();
  process.kill(d.pid, 'SIGTERM');
  const how = await d.exited;
  return { ...how, ms: performance.now() - t0 };
}

t.test('a policy directory switched as a symbolic link is seen by the very next request, within the settle bound', async (t) => {
  const tree = makeTree(t, 'qubes.Filecopy * work personal allow\n');
  const at = (...p: string[]) => path.join(tree.dir, ...p);
  fs.renameSync(tree.policy, at('v1'));
  fs.symlinkSync('v1', tree.policy);
  const d = await spawnDaemon(t, tree, ['--workers', '2']);
  t.equal(await answered(tree), ALLOW_PERSONAL);
  for (const [version, text, want] of [
    ['v2', 'qubes.Filecopy * work personal deny\n', DENY],
    ['v3', 'qubes.Filecopy * work personal allow bogus=1\n', DENY],
    ['v4', 'qubes.Filecopy * work personal allow\n', ALLOW_PERSONAL],
  ] as const) {
    fs.mkdirSync(at(version));
    fs.writeFileSync(at(version, '30-test.policy'), text);
    // deployed whole: ln -s vN tmp && mv -T tmp policy.d
    fs.symlinkSync(version, at('tmp'));
    const t0 = performance.now();
    fs.renameSync(at('tmp'), tree.policy);
    t.equal(await answered(tree), want, `switched to ${version}: the first request after it`);
    const ms = performance.now() - t0;
    t.ok(ms < WAIT_LIMIT_MS + SLACK_MS, `answered ${Math.round(ms)} ms after the switch`);
  }
  t.equal((await stopTimed(d)).code, 0);
});

for (const how of ['/dev/full', 'a closed pipe'] as const) {
  t.test(`stderr on ${how}: serving goes on, idle CPU stays near zero, SIGTERM ends every process`, async (t) => {
    const tree = makeTree(t);
    const full = how === '/dev/full' ? fs.openSync('/dev/full', 'w') : undefined;
    t.teardown(() => full !== undefined && fs.closeSync(full));
    const d = await spawnDaemon(t, tree, ['--workers', '2', '--log-level', 'debug'], { stderr: full ?? 'pipe' });
    if (full === undefined) {
      await until(() => d.lines.some((l) => l.startsWith('listening on')), 10_000, 'the daemon to say it listens');
      // the journal goes away: every write from now on is EPIPE
      d.proc.stderr!.destroy();
    }
    // each answer is a log line that cannot be written
    t.equal(await answeredTimes(tree, 50), 50, 'every request answered');
    const pids = [d.pid, ...d.workers()];
    t.equal(pids.length, 3, 'the primary and its two workers');
    // (what the burst leaves to do, a garbage collection, is done by then)
    await new Promise((r) => setTimeout(r, 300));
    const before = pids.map(cpuMs);
    await new Promise((r) => setTimeout(r, 1000));
    const used = pids.map((p, i) => cpuMs(p) - before[i]!);
    // a process spinning on a failed write uses all of it (1,000 ms); an idle one next to none
    t.ok(used.every((ms) => ms <= 300), `CPU over one idle second: ${used.join(', ')} ms`);
    const stop = await stopTimed(d);
    t.same({ code: stop.code, signal: stop.signal }, { code: 0, signal: null });
    t.ok(stop.ms < 2000, `ended ${Math.round(stop.ms)} ms after SIGTERM`);
    t.ok(pids.every((p) => !fs.existsSync(`/proc/${p}`) || fs.readFileSync(`/proc/${p}/stat`, 'utf8').includes(') Z ')), 'its workers too');
  });
}

t.test('SIGTERM ends the daemon within 2 s even while a person has yet to answer an ask', async (t) => {
  const tree = makeTree(t);
  const agent = await startFakeAgent(tree.rpc, { ask: 'hang', notify: '' });
  t.teardown(() => agent.close());
  for (const workers of ['1', '2']) {
    const d = await spawnDaemon(t, tree, ['--workers', workers]);
    const asking = request(tree.sock, policyRequest('work', '', 'test.Ask'));
    await until(() => agent.calls.filter((c) => c.service === 'policy.Ask').length === Number(workers), 10_000, 'the ask to reach the agent');
    const stop = await stopTimed(d);
    t.equal(stop.code, 0, `--workers ${workers}: status 0`);
    t.ok(stop.ms < 2000, `--workers ${workers}: ended ${Math.round(stop.ms)} ms after SIGTERM`);
    t.equal((await asking).text, '', 'the waiting client is let go');
  }
});

t.test('a second daemon on the same socket is refused while the first lives, and accepted after', async (t) => {
  const tree = makeTree(t);
  const first = await spawnDaemon(t, tree, ['--workers', '2']);
  const inode = fs.statSync(tree.sock).ino;
  for (const workers of ['1', '2']) {
    const second = await spawnDaemon(t, tree, ['--workers', workers]);
    t.same(await second.exited, { code: 1, signal: null }, `--workers ${workers}: refused, status 1`);
    t.same(second.lines, [`error: another daemon is serving on ${tree.sock}; not starting`], 'one line saying why');
  }
  t.equal(fs.statSync(tree.sock).ino, inode, "the first one's socket is still there");
  t.equal(await answered(tree), ALLOW_PERSONAL, 'and still answered');
  t.equal((await stopTimed(first)).code, 0);
  t.notOk(fs.existsSync(tree.sock), 'removed by its owner on stop');
  const third = await spawnDaemon(t, tree, ['--workers', '2']);
  t.equal(await answered(tree), ALLOW_PERSONAL, 'accepted once the first has gone');
  // a daemon killed outright leaves a stale socket, which the next one replaces
  process.kill(-third.pid, 'SIGKILL');
  await third.exited;
  t.ok(fs.lstatSync(tree.sock).isSocket(), 'stale socket left behind');
  const fourth = await spawnDaemon(t, tree, ['--workers', '1']);
  t.same(fourth.lines.filter((l) => l.startsWith('error')), []);
  t.equal(await answered(tree), ALLOW_PERSONAL);
  t.equal((await stopTimed(fourth)).code, 0);
});

t.test('a worker killed with SIGTERM or SIGKILL is replaced; the service keeps answering and ends only when told', async (t) => {
  const tree = makeTree(t);
  const d = await spawnDaemon(t, tree, ['--workers', '2']);
  for (const signal of ['SIGTERM', 'SIGKILL', 'SIGTERM'] as const) {
    const [victim, other] = d.workers();
    process.kill(victim!, signal);
    // the other worker answers meanwhile
    t.equal(await answeredTimes(tree, 20), 20, `${signal} to ${victim}: the other worker answers meanwhile`);
    const how = signal === 'SIGKILL' ? 'signal SIGKILL' : 'status 0';
    await until(() => d.matching(new RegExp(`^error: worker process ${victim} exited with ${how}; starting another$`)).length === 1, 10_000, 'the log line');
    // (killing the last worker that holds the sockets before its replacement serves would leave nobody listening for a moment)
    await until(() => d.matching(new RegExp(`^worker process \\d+ is serving in place of ${victim}$`)).length === 1, 10_000, `a worker in place of ${victim}`);
    t.equal(d.workers().length, 2);
    t.ok(d.workers().includes(other!), 'the other worker untouched');
    t.equal(await answeredTimes(tree, 20), 20, 'and both afterwards');
  }
  const stop = await stopTimed(d);
  t.same({ code: stop.code, signal: stop.signal }, { code: 0, signal: null }, 'status 0 only when the primary is told to stop');
});

t.test('out of file descriptors: connections beyond the limit are closed at once and said, with the fix', async (t) => {
  const tree = makeTree(t);
  const d = await spawnDaemon(t, tree, ['--workers', '1'], { shell: 'ulimit -n 100 && exec' });
  const idle: net.Socket[] = [];
  t.teardown(() => idle.forEach((c) => c.destroy()));
  const closedEarly: boolean[] = [];
  for (let i = 0; i < 40; i++) {
    const c = net.createConnection(tree.sock);
    c.on('error', () => {});
    const k = i;
    closedEarly[k] = false;
    c.on('close', () => (closedEarly[k] = true));
    idle.push(c);
  }
  await until(() => d.matching(/closed unanswered/).length > 0, 10_000, 'the daemon to say it closes connections');
  t.match(d.matching(/closed unanswered/)[0], /^error: \d+ connections? closed unanswered: \d+ open at once is all that the limit of 100 file descriptors allows; out of file descriptors: raise LimitNOFILE in the service unit$/);
  await until(() => closedEarly.some(Boolean), 5000, 'some connections closed');
  t.ok(closedEarly.filter(Boolean).length < 40, 'the first ones are held');
  // once the idle clients go, requests are answered again
  idle.forEach((c) => c.destroy());
  await until(() => closedEarly.every(Boolean), 5000, 'the idle clients gone');
  await new Promise((r) => setTimeout(r, 100));
  t.equal(await answered(tree), ALLOW_PERSONAL);
  t.equal((await stopTimed(d)).code, 0);
});

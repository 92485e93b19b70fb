/**
 * The daemon as a command: options and usage errors (`qrexec-policy-daemon`
 * and `qrexec-policy daemon`), signals (SIGHUP re-reads, SIGTERM stops),
 * its winston logger, and the cluster of worker processes (real processes
 * forked from this one, serving on the shared sockets).
 */
import t from 'tap';
import cluster from 'node:cluster';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonCli, daemonOptions } from '../../src/cli/commands/daemon.js';
import { umbrellaMain } from '../../src/cli/umbrella.js';
import { daemonCommand } from '../../src/daemon/cli.js';
import { ConfigError, daemonConfig, DEFAULT_EVAL_SOCKET, DEFAULT_GUI_SOCKET, DEFAULT_SOCKET, type DaemonArgs } from '../../src/daemon/config.js';
import { daemonLogger, lineWriter } from '../../src/daemon/log.js';
import { runDaemon } from '../../src/daemon/main.js';
import { runWorker, startCluster, WORKER_ENV } from '../../src/daemon/cluster.js';
import type { Running } from '../../src/daemon/serve.js';
import { captureIo, captureProcess } from '../cli/fixtures/cli.js';
import { ALLOW_PERSONAL, captureLog, makeTree, policyRequest, request, treeArgs, until, type Tree } from './fixtures/daemon.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const BUNDLE = path.join(here, '..', '..', 'dist', 'bin', 'qrexec-policy-daemon.js');
const CRASH = path.join(here, 'fixtures', 'crash.mjs');
const DISCONNECT = path.join(here, 'fixtures', 'disconnect.mjs');

/** Command-line arguments for a tree. */
function argv(tree: Tree, extra: string[] = []): string[] {
  const a = treeArgs(tree);
  return [
    '--socket-path', a.socketPath!, '--eval-socket-path', a.evalSocketPath!, '--gui-socket-path', a.guiSocketPath!,
    '--policy-path', tree.policy, '--legacy-path', tree.legacy, '--system-info', tree.si, '--rpc-dir', tree.rpc, ...extra,
  ];
}

const answered = (tree: Tree) => request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy')).then((r) => r.text);

t.test('qrexec-policy-daemon --help, usage errors and bad values: exit 0 / 2', async (t) => {
  let r = await captureProcess(() => daemonCli(['--help']));
  t.equal(r.value, 0);
  t.match(r.stdout, /^usage: qrexec-policy-daemon \[options\]\n\nserve policy decisions on a unix socket/);
  for (const opt of ['--socket-path', '--eval-socket-path', '--gui-socket-path', '--policy-path', '--legacy-path', '--system-info', '--workers', '--log-file'])
    t.ok(r.stdout.includes(opt), opt);
  t.equal(r.stderr, '');
  const c = captureIo();
  t.equal(await daemonCli(['--bogus'], c.io), 2);
  t.equal(c.err, "qrexec-policy-daemon: unknown option --bogus\nRun 'qrexec-policy-daemon --help' for usage.\n");
  const c1 = captureIo();
  t.equal(await daemonCli(['--socket-path', 'a', '--socket-path', 'b'], c1.io), 2);
  t.match(c1.err, /^qrexec-policy-daemon: option --socket-path given more than once\n/);
  const c2 = captureIo();
  t.equal(await daemonCli(['--workers', '0'], c2.io), 2);
  t.equal(c2.err, 'qrexec-policy-daemon: --workers needs a whole number from 1 to 64, not "0"\n');
  r = await captureProcess(() => umbrellaMain(['daemon', '--help'], captureIo().io));
  t.equal(r.value, 0);
  t.match(r.stdout, /^qrexec-policy daemon\b/);
  t.ok(r.stdout.includes('--socket-path'));
  const c3 = captureIo();
  t.equal(await umbrellaMain(['daemon', '--request-timeout', '0'], c3.io), 2);
  t.equal(c3.err, 'qrexec-policy-daemon: --request-timeout needs a positive number of seconds, not "0"\n');
  // a failure that is not a usage error is not reported as one
  await t.rejects(daemonCli(['--workers', '0'], { out: () => {}, err: () => {
    throw new TypeError('stderr is gone');
  }, env: {} }), { message: 'stderr is gone' });
  const c4 = captureIo();
  t.equal(await daemonCommand({ logLevel: 'loud' }, c4.io), 2);
  t.equal(c4.err, 'qrexec-policy-daemon: invalid log level "loud" (error, warn, info, debug)\n');
});

t.test('the systemd unit example starts the daemon with options it accepts', async (t) => {
  const unit = fs.readFileSync(path.join(here, '..', '..', 'contrib', 'systemd', 'qrexec-policy-daemon.service'), 'utf8');
  const [, bin, args] = unit.match(/^ExecStart=(\S+) (.*)$/m)!;
  t.equal(path.basename(bin!), 'qrexec-policy-daemon');
  const yargs = (await import('yargs')).default;
  const parsed = await daemonOptions(yargs(args!.split(' ')).strict()).exitProcess(false).parseAsync();
  t.match(daemonConfig(parsed as DaemonArgs, {}), {
    socketPath: DEFAULT_SOCKET,
    evalSocketPath: DEFAULT_EVAL_SOCKET,
    guiSocketPath: DEFAULT_GUI_SOCKET,
    paths: ['/run/qubes/policy.d', '/etc/qubes/policy.d'],
    legacyPath: '/etc/qubes-rpc/policy',
  });
  t.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  t.match(unit, /^Restart=on-failure$/m);
  t.match(unit, /^Conflicts=qubes-qrexec-policy-daemon\.service$/m);
});

t.test('daemonConfig: defaults, environment fallbacks, bad values', async (t) => {
  const d = daemonConfig({}, {});
  t.match(d, {
    socketPath: DEFAULT_SOCKET,
    evalSocketPath: DEFAULT_EVAL_SOCKET,
    guiSocketPath: DEFAULT_GUI_SOCKET,
    paths: ['/run/qubes/policy.d', '/etc/qubes/policy.d'],
    legacyPath: '/etc/qubes-rpc/policy',
    systemInfo: null,
    qubesdInternalSocket: '/var/run/qubesd.internal.sock',
    agent: { rpcDir: '/etc/qubes-rpc', qrexecClient: '/usr/lib/qubes/qrexec-client', askTimeoutMs: 0 },
    logLevel: 'info',
    logFile: null,
    requestTimeoutMs: 10_000,
    workers: Math.min(4, os.availableParallelism()),
  });
  const env = { QREXEC_POLICY_SYSTEM_INFO: '/si', QUBESD_INTERNAL_SOCKET: '/q', QREXEC_CLIENT: '/c', QREXEC_RPC_DIR: '/r' };
  t.match(daemonConfig({ path: [], askTimeout: '1.5', requestTimeout: '0.25', workers: '3', logLevel: 'debug' }, env), {
    systemInfo: '/si',
    qubesdInternalSocket: '/q',
    agent: { qrexecClient: '/c', rpcDir: '/r', askTimeoutMs: 1500 },
    requestTimeoutMs: 250,
    workers: 3,
    logLevel: 'debug',
    paths: ['/run/qubes/policy.d', '/etc/qubes/policy.d'],
  });
  t.throws(() => daemonConfig({ logLevel: 'loud' }, {}), { message: 'invalid log level "loud" (error, warn, info, debug)' });
  t.throws(() => daemonConfig({ askTimeout: '-1' }, {}), { message: '--ask-timeout needs a number of seconds, not "-1"' });
  t.throws(() => daemonConfig({ requestTimeout: 'soon' }, {}), { message: '--request-timeout needs a positive number of seconds, not "soon"' });
  t.throws(() => daemonConfig({ workers: '65' }, {}), { message: '--workers needs a whole number from 1 to 64, not "65"' });
  t.ok((() => {
    try {
      daemonConfig({ workers: 'x' }, {});
    } catch (err) {
      return err instanceof ConfigError;
    }
  })());
});

t.test('daemonLogger: one write per event-loop turn, levels filtered; lineWriter falls back to stderr', async (t) => {
  const writes: string[] = [];
  const log = await daemonLogger('info', (s) => writes.push(s));
  t.equal(log.level, 'info');
  t.ok(log.enabled('warn'));
  t.notOk(log.enabled('debug'));
  log.log('info', 'one');
  log.log('debug', 'hidden');
  log.log('warn', 'two\nlines');
  log.log('error', 'three');
  await new Promise((r) => setImmediate(r));
  t.same(writes, ['one\nwarning: two lines\nerror: three\n']);
  log.log('info', 'four');
  await until(() => writes.length === 2);
  t.equal(writes[1], 'four\n');
  // a large batch is cut at line ends into writes of at most 4096 bytes
  const lines = Array.from({ length: 100 }, (_, i) => `line ${i} ` + 'é'.repeat(50));
  for (const l of lines) log.log('info', l);
  log.flush();
  log.flush();
  const batch = writes.slice(2);
  t.ok(batch.length > 1 && batch.every((w) => Buffer.byteLength(w) <= 4096 && w.endsWith('\n')), `${batch.length} writes`);
  t.same(batch.join('').split('\n').slice(0, -1), lines);

  const tree = makeTree(t);
  const file = path.join(tree.dir, 'd.log');
  const w = lineWriter(file);
  w('a\n');
  w('b\n');
  t.equal(fs.readFileSync(file, 'utf8'), 'a\nb\n');
  const r = await captureProcess(() => {
    lineWriter(tree.dir)('to a directory\n');
    lineWriter(null)('plain\n');
  });
  t.equal(r.stderr, 'to a directory\nplain\n');
});

/** Run daemonCli in this process until SIGTERM; resolves with its status. */
function cliInProcess(args: string[]) {
  return daemonCli(args, captureIo().io);
}

t.test('one process: SIGHUP re-reads, SIGTERM stops; decisions logged to --log-file', async (t) => {
  const tree = makeTree(t, 'qubes.Filecopy * work personal deny\n');
  const logFile = path.join(tree.dir, 'daemon.log');
  const listeners = process.listenerCount('SIGTERM');
  const status = cliInProcess(argv(tree, ['--workers', '1', '--log-file', logFile, '--log-level', 'debug']));
  await until(() => fs.existsSync(logFile) && fs.readFileSync(logFile, 'utf8').includes('listening on'), 10_000, 'listening');
  t.equal(await answered(tree), 'result=deny\n');
  // changed behind the watches' back (a hard link elsewhere): only SIGHUP makes it seen
  fs.linkSync(path.join(tree.policy, '30-test.policy'), path.join(tree.dir, 'hardlink'));
  fs.writeFileSync(path.join(tree.dir, 'hardlink'), 'qubes.Filecopy * work personal allow\n');
  t.equal(await answered(tree), 'result=deny\n');
  process.emit('SIGHUP');
  t.equal(await answered(tree), ALLOW_PERSONAL);
  process.emit('SIGTERM');
  t.equal(await status, 0);
  t.equal(process.listenerCount('SIGTERM'), listeners, 'signal handlers removed');
  await until(() => fs.readFileSync(logFile, 'utf8').includes('allowed to personal'));
  const log = fs.readFileSync(logFile, 'utf8').split('\n');
  t.ok(log.includes('policy loaded: 1 rules from 1 files'));
  t.match(
    log.filter((l) => l.startsWith('qrexec: ')),
    [/^qrexec: qubes\.Filecopy: work -> personal: denied: denied by policy /, /denied/, 'qrexec: qubes.Filecopy: work -> personal: allowed to personal'],
  );
  t.notOk(fs.existsSync(tree.sock), 'socket removed');
  // SIGINT stops too
  const again = cliInProcess(argv(tree, ['--workers', '1', '--log-file', logFile]));
  await until(() => fs.existsSync(tree.sock), 10_000, 'listening again');
  process.emit('SIGINT');
  t.equal(await again, 0);
});

/**
 * runDaemon as a cluster of real worker processes: the primary runs here,
 * the workers run the bundled daemon (dist/bin, built by `npm test`'s
 * pretest), which starts in a fraction of the time the sources would take.
 */
async function clusterOf(t: Parameters<Parameters<typeof t.test>[1]>[0], tree: Tree, extra: Record<string, string> = {}, exec = BUNDLE) {
  const cap = captureLog('info');
  const logFile = path.join(tree.dir, 'workers.log');
  const cfg = daemonConfig(treeArgs(tree, { workers: '2', logLevel: 'debug', logFile, ...extra }), {});
  let running!: Running;
  const done = runDaemon(cfg, { log: cap.log, cluster: { exec, args: [], execArgv: [] }, started: (r) => (running = r) });
  t.teardown(async () => {
    running.stop();
    await done;
  });
  const workersLog = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '');
  return { cap, done, running: () => running, workersLog };
}

const workers = () => Object.values(cluster.workers ?? {}).map((w) => w!);
const workerPids = () => workers().map((w) => w.process.pid!);

if (!fs.existsSync(BUNDLE)) t.fail('dist/bin/qrexec-policy-daemon.js is missing: run `npm run build` (npm test does it first)');
else {
  t.test('cluster: workers share the sockets, see edits, re-read on SIGHUP, are restarted, stop on SIGTERM', async (t) => {
    const tree = makeTree(t, 'qubes.Filecopy * work personal allow\n');
    const c = await clusterOf(t, tree);
    await c.running().ready;
    t.equal(workerPids().length, 2);
    for (let i = 0; i < 10; i++) t.equal(await answered(tree), ALLOW_PERSONAL);
    t.same(
      c.cap.matching(/loaded|listening/),
      [
        'policy loaded: 1 rules from 1 files',
        'system info loaded: 6 qubes from ' + tree.si,
        `listening on ${tree.sock}, ${tree.evalSock}, ${tree.guiSock} (2 worker processes)`,
      ],
      'each state once, however many workers',
    );
    t.notMatch(c.workersLog(), /listening/, 'only the primary says it listens');
    // every worker sees an edit
    fs.writeFileSync(path.join(tree.policy, '30-test.policy'), 'qubes.Filecopy * work personal deny notify=no\n');
    for (let i = 0; i < 10; i++) t.equal(await answered(tree), 'result=deny\n');
    // SIGHUP reaches the workers
    const reads = () => c.workersLog().split('\n').filter((l) => l.startsWith('debug: policy read')).length;
    const before = reads();
    process.emit('SIGHUP');
    await until(() => c.workersLog().length > 0 && workers().every((w) => w.isConnected()));
    for (let i = 0; i < 10 && reads() === before; i++) await answered(tree);
    await until(() => reads() > before, 5000, 'a worker re-reading');
    // a worker that dies is replaced
    const [victim] = workerPids();
    process.kill(victim!, 'SIGKILL');
    await until(() => c.cap.matching(/starting another/).length === 1, 10_000, 'the restart');
    t.match(c.cap.matching(/starting another/)[0], new RegExp(`^error: worker process ${victim} exited with signal SIGKILL; starting another$`));
    await until(() => workerPids().length === 2 && !workerPids().includes(victim!), 10_000, 'two workers again');
    for (let i = 0; i < 5; i++) t.equal(await answered(tree), 'result=deny\n');
    process.emit('SIGTERM');
    t.equal(await c.done, 0);
    t.equal(workerPids().length, 0);
    await until(() => !fs.existsSync(tree.sock), 5000, 'the socket to go');
  });

  t.test('cluster: a worker stopped by a signal of its own stops the daemon cleanly', async (t) => {
    const tree = makeTree(t);
    const c = await clusterOf(t, tree);
    await c.running().ready;
    process.kill(workerPids()[0]!, 'SIGTERM');
    t.equal(await c.done, 0);
  });

  t.test('cluster: workers that keep dying stop the daemon', async (t) => {
    const tree = makeTree(t);
    const c = await clusterOf(t, tree);
    await c.running().ready;
    for (let i = 0; i < 6; i++) {
      const pid = workerPids()[0]!;
      process.kill(pid, 'SIGKILL');
      await until(() => !workerPids().includes(pid), 10_000, `worker ${i} gone`);
    }
    t.equal(await c.done, 1);
    t.equal(c.cap.matching(/starting another/).length, 5);
    t.match(c.cap.lines.at(-1), /exited with signal SIGKILL; stopping$/);
  });

  t.test('cluster: start-up failures stop the daemon with status 1', async (t) => {
    // the workers cannot listen; they say why
    let tree = makeTree(t);
    let c = await clusterOf(t, tree, { socketPath: path.join(tree.dir, 'no/such/dir/p.sock') });
    await t.rejects(c.running().ready, { message: /cannot listen on .*no\/such\/dir\/p\.sock/ });
    t.equal(await c.done, 1);
    t.match(c.cap.matching(/^error: /), [/^error: cannot listen on .*no\/such\/dir\/p\.sock: E[A-Z]+$/], 'said once, by the primary');
    t.notMatch(c.workersLog(), /cannot listen/);
    // a worker dies before it serves
    tree = makeTree(t);
    c = await clusterOf(t, tree, {}, CRASH);
    await t.rejects(c.running().ready, { message: /exited with status 3; stopping$/ });
    t.equal(await c.done, 1);
    t.match(c.cap.matching(/^error: /)[0], /^error: worker process \d+ exited with status 3; stopping$/);
    // workers that cannot be told anything any more: a reload skips them
    tree = makeTree(t);
    c = await clusterOf(t, tree, {}, DISCONNECT);
    await until(() => workers().some((w) => !w.isConnected()), 5000, 'a disconnected worker');
    c.running().reload();
    t.equal(await c.done, 1);
  });
}

t.test('startCluster: the defaults run this script again; stopping with no workers left ends at once', async (t) => {
  const cfg = { ...daemonConfig(treeArgs(makeTree(t)), {}), workers: 0 };
  const running = startCluster(cfg, captureLog().log);
  running.stop();
  t.equal(await running.done, 0);
  // and a worker gone before it served, with no other left, ends the daemon at once
  const r2 = startCluster({ ...cfg, workers: 1 }, captureLog().log, { exec: CRASH, args: [], execArgv: [] });
  await t.rejects(r2.ready);
  t.equal(await r2.done, 1);
});

t.test('runWorker: serves, reports to the primary, re-reads when told, stops when the primary goes', async (t) => {
  const tree = makeTree(t);
  const cfg = daemonConfig(treeArgs(tree), {});
  const sent: unknown[] = [];
  const proc = process as unknown as { send?: unknown; connected?: boolean };
  const saved = { send: proc.send, connected: proc.connected };
  proc.send = (m: unknown) => sent.push(m);
  proc.connected = true;
  t.teardown(() => {
    proc.send = saved.send;
    proc.connected = saved.connected;
  });
  const cap = captureLog();
  // the socket paths are the primary's to clear: a stale one is left alone
  fs.writeFileSync(tree.evalSock, 'not a socket');
  // runDaemon in a worker process serves with the configuration its primary gave
  const c = cluster as { isWorker: boolean };
  c.isWorker = true;
  process.env[WORKER_ENV] = JSON.stringify({ ...cfg, evalSocketPath: '' });
  t.teardown(() => {
    c.isWorker = false;
    delete process.env[WORKER_ENV];
  });
  let up = false;
  const workerDone = runDaemon({ ...cfg, socketPath: '/nowhere' }, { log: cap.log, started: (r) => void r.ready.then(() => (up = true)) });
  await until(() => up, 5000, 'the worker to serve');
  let running: Running = { ready: Promise.resolve(), done: workerDone, stop: () => {}, reload: () => {} };
  t.match(sent, [{ type: 'transition', transition: { subject: 'policy' } }, { type: 'transition', transition: { subject: 'system info' } }, { type: 'ready' }]);
  t.equal(await answered(tree), ALLOW_PERSONAL);
  fs.linkSync(path.join(tree.policy, '30-test.policy'), path.join(tree.dir, 'hardlink'));
  fs.writeFileSync(path.join(tree.dir, 'hardlink'), 'qubes.Filecopy * work personal deny notify=no\n');
  process.emit('message', { type: 'reload' }, undefined);
  process.emit('message', { type: 'other' }, undefined);
  t.equal(await answered(tree), 'result=deny\n');
  t.match(sent.slice(3), [{ type: 'transition' }, { type: 'transition' }], 're-read, reported again (the primary logs changes only)');
  proc.connected = false;
  const n = sent.length;
  process.emit('disconnect');
  t.equal(await running.done, 0);
  await answered(tree).catch(() => '');
  t.equal(sent.length, n, 'nothing sent once disconnected');
  t.equal(cap.matching(/listening/).length, 0, 'the primary says it listens');
  // a worker that cannot listen tells the primary
  proc.connected = true;
  c.isWorker = false;
  running = runWorker(cfg, cap.log);
  await t.rejects(running.ready);
  t.equal(await running.done, 1);
  t.match(sent.at(-1), { type: 'fatal', message: `cannot listen on ${tree.evalSock}: EADDRINUSE` });
  process.removeAllListeners('disconnect');
  for (const l of process.listeners('message')) if (l.toString().includes('reload')) process.off('message', l);
});

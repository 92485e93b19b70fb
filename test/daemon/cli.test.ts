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
import { ConfigError, daemonConfig, defaultWorkers, DEFAULT_EVAL_SOCKET, DEFAULT_GUI_SOCKET, DEFAULT_SOCKET, type DaemonArgs } from '../../src/daemon/config.js';
import { daemonLogger, guardStdio, lineWriter, type WriteFn } from '../../src/daemon/log.js';
import { EventEmitter } from 'node:events';
import { runDaemon } from '../../src/daemon/main.js';
import { runWorker, startCluster, WORKER_ENV } from '../../src/daemon/cluster.js';
import type { Running } from '../../src/daemon/serve.js';
import { bindPath, SocketPaths } from '../../src/daemon/sockets.js';
import { captureIo, captureProcess } from '../cli/fixtures/cli.js';
import {
  ALLOW_PERSONAL,
  captureLog,
  DAEMON_BUNDLE as BUNDLE,
  makeTree,
  policyRequest,
  request,
  spawnDaemon,
  treeArgs,
  until,
  type Tree,
} from './fixtures/daemon.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CRASH = path.join(here, 'fixtures', 'crash.mjs');
const DISCONNECT = path.join(here, 'fixtures', 'disconnect.mjs');
const STUBBORN = path.join(here, 'fixtures', 'stubborn.mjs');
/** runDaemon in this process must not end it. */
const noExit = () => {};

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
  // SIGTERM to the primary alone: it stops its workers itself (a worker signalled alone is replaced)
  t.match(unit, /^KillMode=mixed$/m);
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
    workers: defaultWorkers(os.availableParallelism()),
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
  // one worker per two CPUs, from 1 to 4 (bench/README.md: one process wins on one and two CPUs)
  t.same([1, 2, 3, 4, 6, 8, 16, 64].map(defaultWorkers), [1, 1, 1, 2, 3, 4, 4, 4]);
  t.ok((() => {
    try {
      daemonConfig({ workers: 'x' }, {});
    } catch (err) {
      return err instanceof ConfigError;
    }
  })());
});

t.test('daemonLogger: lines gathered into one write within FLUSH_MS, levels filtered; lineWriter falls back to stderr', async (t) => {
  const writes: string[] = [];
  const log = await daemonLogger('info', (s) => writes.push(s), 30);
  t.equal(log.level, 'info');
  t.ok(log.enabled('warn'));
  t.notOk(log.enabled('debug'));
  const t0 = performance.now();
  log.log('info', 'one');
  log.log('debug', 'hidden');
  log.log('warn', 'two\nlines');
  await new Promise((r) => setTimeout(r, 5));
  log.log('error', 'three');
  t.same(writes, [], 'nothing written before the flush time');
  await until(() => writes.length === 1);
  t.ok(performance.now() - t0 >= 29, 'written once the first line waited its time');
  t.same(writes, ['one\nwarning: two lines\nerror: three\n'], 'in one write');
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

});

t.test('guardStdio: a stream that fails is not an uncaught exception, while guarded', async (t) => {
  const streams = [new EventEmitter(), new EventEmitter()];
  const unguard = guardStdio(streams);
  for (const s of streams) s.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
  unguard();
  t.throws(() => streams[1]!.emit('error', new Error('write EPIPE')), { message: 'write EPIPE' }, 'no handler left behind');
});

t.test('lineWriter: every byte written or the line counted as lost; what a file cannot take goes to stderr; losses reported', async (t) => {
  const tree = makeTree(t);
  const file = path.join(tree.dir, 'd.log');
  const read = () => fs.readFileSync(file, 'utf8');
  const w = lineWriter(file);
  w('a\n');
  w('b\n');
  t.equal(read(), 'a\nb\n');

  // stderr (fd 2) recorded here; the file written for real, except when told otherwise
  const stderr: string[] = [];
  let stderrFails: string | null = null;
  let fileMode: 'ok' | 'short' | 'nothing' | 'half-then-fail' | string = 'ok';
  let fileCalls = 0;
  const write: WriteFn = (fd, buf, off, len) => {
    if (fd === 2) {
      if (stderrFails !== null) throw Object.assign(new Error(stderrFails), { code: stderrFails });
      stderr.push(buf.toString('utf8', off, off + len));
      return len;
    }
    fileCalls++;
    if (fileMode === 'short') return fs.writeSync(fd, buf, off, Math.min(len, 3));
    if (fileMode === 'nothing') return 0;
    if (fileMode === 'half-then-fail') {
      fileMode = 'ENOSPC';
      return fs.writeSync(fd, buf, off, 2);
    }
    if (fileMode !== 'ok') throw Object.assign(new Error(fileMode), { code: fileMode });
    return fs.writeSync(fd, buf, off, len);
  };
  const RETRY = 40;
  const later = () => new Promise((r) => setTimeout(r, RETRY + 10));
  fs.rmSync(file);
  const out = lineWriter(file, write, RETRY);
  // a write that takes only part of the bytes: the rest is written, not lost
  fileMode = 'short';
  out('short writes\n');
  t.equal(read(), 'short writes\n');
  // a write that takes nothing, then one that fails: the lines go to stderr, counted
  fileMode = 'nothing';
  out('one\n');
  fileMode = 'ENOSPC';
  const calls = fileCalls;
  out('two\nthree\n');
  t.equal(fileCalls, calls, 'within a second of a failure the file is not even tried');
  t.same(stderr, ['one\n', 'two\nthree\n']);
  await later();
  fileMode = 'ok';
  out('four\n');
  t.equal(read(), 'short writes\nwarning: 3 log lines could not be written to ' + file + ' (short write) and went to stderr instead\nfour\n');
  // a failure part-way through a line: the next write starts on a line of its own
  fileMode = 'half-then-fail';
  out('five\n');
  await later();
  fileMode = 'ok';
  out('six\n');
  t.match(read(), /four\nfi\nwarning: 1 log line could not be written to .* \(no space left on the device\) and went to stderr instead\nsix\n$/);
  // a full pipe (EAGAIN) is tried again with the very next batch
  fileMode = 'EAGAIN';
  out('seven\n');
  fileMode = 'ok';
  out('eight\n');
  t.match(read(), /six\nwarning: 1 log line could not be written to .* \(EAGAIN\) and went to stderr instead\neight\n$/);

  // stderr alone, failing: lines dropped and counted, said once it works again
  stderr.length = 0;
  const errOut = lineWriter(null, write, RETRY);
  stderrFails = 'EPIPE';
  errOut('lost 1\n');
  errOut('lost 2\nlost 3\n');
  await later();
  errOut('lost 4\n');
  stderrFails = null;
  await later();
  errOut('back\n');
  t.same(stderr, ['warning: 4 log lines could not be written to stderr (EPIPE) and were dropped\n', 'back\n']);

  // a file that cannot be opened, then can: stderr meanwhile; the real /dev/full
  stderr.length = 0;
  const late = path.join(tree.dir, 'later', 'd.log');
  const lateOut = lineWriter(late, write, RETRY);
  lateOut('early\n');
  fs.mkdirSync(path.dirname(late));
  await later();
  lateOut('in the file\n');
  t.equal(fs.readFileSync(late, 'utf8'), `warning: 1 log line could not be written to ${late} (does not exist) and went to stderr instead\nin the file\n`);
  lineWriter('/dev/full', write, RETRY)('to a full device\n');
  t.same(stderr, ['early\n', 'to a full device\n']);
});

t.test('the daemon process: SIGHUP re-reads, SIGTERM and SIGINT stop it with status 0; decisions logged to --log-file', async (t) => {
  const tree = makeTree(t, 'qubes.Filecopy * work personal deny\n');
  const logFile = path.join(tree.dir, 'daemon.log');
  const d = await spawnDaemon(t, tree, ['--workers', '1', '--log-file', logFile, '--log-level', 'debug']);
  t.equal(await answered(tree), 'result=deny\n');
  // changed behind the watches' back (a hard link elsewhere): only SIGHUP makes it seen
  fs.linkSync(path.join(tree.policy, '30-test.policy'), path.join(tree.dir, 'hardlink'));
  fs.writeFileSync(path.join(tree.dir, 'hardlink'), 'qubes.Filecopy * work personal allow\n');
  t.equal(await answered(tree), 'result=deny\n');
  process.kill(d.pid, 'SIGHUP');
  await until(() => fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('debug: policy read')).length >= 2, 10_000, 'the re-read');
  t.equal(await answered(tree), ALLOW_PERSONAL);
  process.kill(d.pid, 'SIGTERM');
  t.same(await d.exited, { code: 0, signal: null });
  const log = fs.readFileSync(logFile, 'utf8').split('\n');
  t.ok(log.includes('policy loaded: 1 rules from 1 files'));
  t.match(
    log.filter((l) => l.startsWith('qrexec: ')),
    [/^qrexec: qubes\.Filecopy: work -> personal: denied: denied by policy /, /denied/, 'qrexec: qubes.Filecopy: work -> personal: allowed to personal'],
  );
  t.notOk(fs.existsSync(tree.sock), 'socket removed');
  t.same(d.lines, [], 'nothing on stderr');
  // SIGINT stops too
  const again = await spawnDaemon(t, tree, ['--workers', '1', '--log-file', path.join(tree.dir, 'again.log')]);
  process.kill(again.pid, 'SIGINT');
  t.same(await again.exited, { code: 0, signal: null });
});

t.test('the daemon command in this process: signal handlers come and go with it', async (t) => {
  const tree = makeTree(t);
  const listeners = process.listenerCount('SIGTERM');
  const cap = captureLog();
  let exited: number | null = null;
  let running!: Running;
  const logFile = path.join(tree.dir, 'd.log');
  const errors = process.stderr.listenerCount('error');
  const done = daemonCommand({ ...treeArgs(tree), logFile }, captureIo().io, { exit: (s) => (exited = s), started: (r) => (running = r) });
  await until(() => running !== undefined);
  await running.ready;
  t.equal(process.listenerCount('SIGTERM'), listeners + 1);
  // a failing stderr while it runs is not an uncaught exception (guardStdio)
  t.equal(process.stderr.listenerCount('error'), errors + 1);
  t.equal(await answered(tree), ALLOW_PERSONAL);
  process.emit('SIGINT');
  t.equal(await done, 0);
  t.equal(exited, 0, 'the process is ended once the daemon has stopped');
  t.equal(process.listenerCount('SIGTERM'), listeners, 'signal handlers removed');
  t.equal(process.stderr.listenerCount('error'), errors);
  t.match(fs.readFileSync(logFile, 'utf8'), /^policy loaded: 5 rules from 1 files\n.*qrexec: qubes\.Filecopy: work -> personal: allowed to personal\n$/s, 'its own logger, flushed at the end');
  t.equal(cap.lines.length, 0);
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
  const done = runDaemon(cfg, { log: cap.log, cluster: { exec, args: [], execArgv: [] }, started: (r) => (running = r), exit: noExit });
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

  t.test('cluster: a worker stopped by a signal of its own is replaced; only the primary ends the service', async (t) => {
    const tree = makeTree(t);
    const c = await clusterOf(t, tree);
    await c.running().ready;
    const [victim] = workerPids();
    process.kill(victim!, 'SIGTERM');
    await until(() => c.cap.matching(/starting another/).length === 1, 10_000, 'the replacement');
    t.match(c.cap.matching(/starting another/)[0], new RegExp(`^error: worker process ${victim} exited with status 0; starting another$`));
    await until(() => c.cap.matching(new RegExp(`^worker process \\d+ is serving in place of ${victim}$`)).length === 1, 10_000, 'the replacement serving');
    t.equal(workerPids().length, 2);
    t.equal(await answered(tree), ALLOW_PERSONAL);
    c.running().stop();
    t.equal(await c.done, 0);
    t.notOk(fs.existsSync(tree.sock), 'its sockets removed');
  });

  t.test('cluster: a worker that ignores SIGTERM is killed; the service still stops with status 0', async (t) => {
    const tree = makeTree(t);
    const c = await clusterOf(t, tree, {}, STUBBORN);
    await c.running().ready;
    const pids = workerPids();
    c.running().stop();
    t.equal(await c.done, 0);
    t.same(
      c.cap.matching(/killing it/).sort(),
      pids.map((p) => `error: worker process ${p} still running 1500 ms after SIGTERM; killing it`).sort(),
    );
  });

  t.test('cluster: a socket that cannot be put in place stops the daemon with status 1', async (t) => {
    const tree = makeTree(t);
    const c = await clusterOf(t, tree);
    // once the paths were checked and workers started, something takes the socket's place
    await until(() => workerPids().length > 0, 10_000, 'the first worker');
    fs.mkdirSync(tree.sock);
    fs.writeFileSync(path.join(tree.sock, 'x'), '');
    await t.rejects(c.running().ready, { message: new RegExp(`^cannot put the socket in place at ${tree.sock}: [a-z][a-z ]+$`) });
    t.equal(await c.done, 1);
    t.ok(fs.existsSync(path.join(tree.sock, 'x')), 'left alone');
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
    t.match(c.cap.matching(/^error: /), [/^error: cannot listen on .*no\/such\/dir\/p\.sock: the directory .*no\/such\/dir does not exist$/], 'said once, by the primary');
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
  // the socket paths are the primary's to take over: what is there is left alone
  fs.writeFileSync(tree.evalSock, 'not a socket');
  // runDaemon in a worker process serves with the configuration its primary gave, on sockets named after it
  const owner = process.pid;
  const c = cluster as { isWorker: boolean };
  c.isWorker = true;
  process.env[WORKER_ENV] = JSON.stringify({ cfg: { ...cfg, evalSocketPath: '' }, owner });
  t.teardown(() => {
    c.isWorker = false;
    delete process.env[WORKER_ENV];
  });
  let up = false;
  const workerDone = runDaemon({ ...cfg, socketPath: '/nowhere' }, { log: cap.log, exit: noExit, started: (r) => void r.ready.then(() => (up = true)) });
  await until(() => up, 5000, 'the worker to serve');
  t.notOk(fs.existsSync(tree.sock), 'a worker binds the socket under its primary\'s temporary name');
  // which the primary moves into place
  new SocketPaths([tree.sock, tree.guiSock], owner).claim();
  t.equal(fs.readFileSync(tree.evalSock, 'utf8'), 'not a socket');
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
  fs.writeFileSync(bindPath(tree.evalSock, owner), 'in the way');
  running = runWorker({ cfg, owner }, cap.log);
  await t.rejects(running.ready);
  t.equal(await running.done, 1);
  t.match(sent.at(-1), { type: 'fatal', message: `cannot listen on ${tree.evalSock}: EADDRINUSE` });
  process.removeAllListeners('disconnect');
  for (const l of process.listeners('message')) if (l.toString().includes('reload')) process.off('message', l);
});

#!/usr/bin/env node
// qrexec-policy-daemon throughput and latency (issues 4 and 17): one
// connection per request over the unix policy socket, as qrexec-daemon asks,
// with 1 and 8 concurrent clients, against a generated 1,000-rule and
// 10,000-rule policy, next to the floor (bench/floor-server.mjs: the same
// protocol answered with no policy at all) measured the same way in the
// same run. Then the production shape: system info from a fake qubesd over
// its real socket protocol (bench/fake-qubesd.mjs, 50 qubes), for our daemon
// and, given `--reference DIR` to `npm run bench` (or QREXEC_REFERENCE=DIR),
// for Qubes' own daemon from DIR/qrexec on the same fake qubesd. Every run is
// bounded in requests and seconds.
//
// The load client is bench/load-client.c (compiled here with cc) so that the
// client costs little of the CPU the daemon is measured on; without a C
// compiler, bench/load-client.mjs stands in (and says so).
//
// Environment: BENCH_DAEMON_WORKERS (comma list, e.g. "1,2,4": daemon --workers
// values to compare; default: the daemon's own default), BENCH_DAEMON_SECONDS
// (time limit per configuration, default 4), BENCH_DAEMON_ROUNDS (the floor and our daemon
// measured in turn, default 3 rounds sharing that time), BENCH_DAEMON_RULES (default
// "1000,10000"), BENCH_DAEMON_LOG (log level, default info), BENCH_DAEMON_KEEP
// (keep the generated policies, requests and logs, and say where),
// BENCH_DAEMON_CLIENT=node (use the Node load client even where cc exists),
// BENCH_DAEMON_BIN (another build's dist/bin/qrexec-policy-daemon.js, to compare;
// its default workers are then labelled as this build's), BENCH_DAEMON_FLOOR=0 (skip the floor), BENCH_DAEMON_PRODUCTION=0 (skip the
// production shape), QREXEC_REFERENCE (the directory holding Qubes' `qrexec`
// package), BENCH_SUMMARY (a file to write the rows to as JSON, for run.mjs).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const DAEMON = process.env.BENCH_DAEMON_BIN ?? path.join(root, 'dist/bin/qrexec-policy-daemon.js');
const SECONDS = Number(process.env.BENCH_DAEMON_SECONDS ?? 4);
const RULES = (process.env.BENCH_DAEMON_RULES ?? '1000,10000').split(',').map(Number);
const WORKERS = (process.env.BENCH_DAEMON_WORKERS ?? '').split(',').filter(Boolean);
const LOG_LEVEL = process.env.BENCH_DAEMON_LOG ?? 'info';
const FLOOR = process.env.BENCH_DAEMON_FLOOR !== '0';
const PRODUCTION = process.env.BENCH_DAEMON_PRODUCTION !== '0';
const REFERENCE = process.env.QREXEC_REFERENCE || null;
const PYTHON = process.env.PYTHON ?? 'python3';
// the floor and our daemon are measured in turn, ROUNDS times, so that a slow moment of the machine
// falls on both: rates are over all rounds, latencies the median round's
const ROUNDS = Math.max(1, Number(process.env.BENCH_DAEMON_ROUNDS ?? 3));
const RUNS = [
  { clients: 1, max: 60_000 },
  { clients: 8, max: 200_000 },
];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qpd-bench-'));
// the daemon's own default on this machine, as its configuration works it out
const { daemonConfig } = await import(path.join(root, 'dist/lib/daemon/config.js'));
const DEFAULT_WORKERS = `${daemonConfig({}, {}).workers} (default)`;

// ---------------------------------------------------------------- generated system and policy
/** Deterministic pseudo-random numbers (mulberry32), so every run measures the same policy. */
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(20240601);
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const uuid = (i) => `${i.toString(16).padStart(8, '0')}-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

const TAGS = ['work', 'personal', 'dev', 'vault', 'banking', 'media', 'sys', 'web', 'mail', 'print'];
/** One qube as qubesd's internal.GetSystemInfo describes it: every field, as Qubes' daemon expects. */
const qube = (i, type, fields) => ({
  tags: [],
  type,
  template_for_dispvms: false,
  default_dispvm: null,
  icon: 'appvm-blue',
  guivm: null,
  power_state: 'Running',
  uuid: uuid(i),
  ...fields,
});
// 50 qubes: dom0, 3 disposable templates, 3 templates, 39 app qubes, 4 service qubes
const domains = { dom0: qube(0, 'AdminVM', { uuid: '00000000-0000-0000-0000-000000000000', icon: 'adminvm-black' }) };
const appvms = [];
const dvms = ['default-dvm', 'whonix-dvm', 'fedora-dvm'];
for (const [i, name] of dvms.entries())
  domains[name] = qube(900 + i, 'AppVM', { template_for_dispvms: true, tags: ['dvm'], default_dispvm: name, icon: 'appvm-red' });
for (const [i, t] of ['fedora-41', 'debian-12', 'whonix-17'].entries()) domains[t] = qube(800 + i, 'TemplateVM', { icon: 'templatevm-black' });
for (let i = 0; i < 39; i++) {
  const name = i < TAGS.length ? TAGS[i] : `${pick(TAGS)}-${i}`;
  appvms.push(name);
  domains[name] = qube(1 + i, i % 17 === 0 ? 'StandaloneVM' : 'AppVM', {
    tags: [pick(TAGS), pick(TAGS)],
    power_state: rand() < 0.6 ? 'Running' : 'Halted',
    default_dispvm: pick(dvms),
  });
}
for (const [i, s] of ['sys-net', 'sys-firewall', 'sys-usb', 'sys-whonix'].entries()) {
  appvms.push(s);
  domains[s] = qube(700 + i, 'AppVM', { tags: ['sys'], default_dispvm: 'default-dvm' });
}
// no GuiVM anywhere: no policy agent in the loop (denials would each send policy.Notify to one)
const siFile = path.join(dir, 'system-info.json');
fs.writeFileSync(siFile, JSON.stringify({ domains }));

const PREFIXES = ['qubes', 'my', 'corp', 'test', 'admin', 'vault', 'net', 'media'];
const VERBS = ['Filecopy', 'OpenInVM', 'OpenURL', 'Gpg', 'Sync', 'Backup', 'Print', 'Notify', 'Query', 'Update', 'Mount', 'Share'];

/**
 * A policy of about `total` rules over several hundred services, in 20
 * files: per service, rules naming qubes, tags, types, @anyvm, @dispvm,
 * argument-specific rules, ask with default_target, allow target=, deny
 * notify, ending in a deny; a few `*` service rules at the end.
 */
function generatePolicy(total) {
  const services = Math.min(600, Math.max(250, Math.round(total / 16)));
  const wildcard = 4;
  const names = [];
  for (let i = 0; i < services; i++) names.push(`${PREFIXES[i % PREFIXES.length]}.${VERBS[(i * 7) % VERBS.length]}${i}`);
  // spread the rules evenly: `extra` services get one more
  const base = Math.floor((total - wildcard) / services);
  const extra = total - wildcard - base * services;
  const files = Array.from({ length: 20 }, () => []);
  const obj = () =>
    pick([() => pick(appvms), () => pick(appvms), () => `@tag:${pick(TAGS)}`, () => '@type:AppVM', () => '@anyvm'])();
  const target = () =>
    pick([() => pick(appvms), () => pick(appvms), () => `@tag:${pick(TAGS)}`, () => '@dispvm', () => `@dispvm:${pick(dvms)}`, () => '@default', () => '@anyvm', () => '@adminvm'])();
  let count = 0;
  for (const [i, svc] of names.entries()) {
    const out = files[i % files.length];
    const n = base + (i < extra ? 1 : 0);
    for (let k = 0; k < n - 1; k++) {
      const arg = rand() < 0.2 ? `+arg${Math.floor(rand() * 5)}` : '*';
      const r = rand();
      const tgt = target();
      let line;
      if (r < 0.35) line = tgt === '@default' ? `${svc} ${arg} ${obj()} @default allow target=${pick(appvms)}` : `${svc} ${arg} ${obj()} ${tgt} allow`;
      else if (r < 0.6) {
        const askTgt = tgt === '@adminvm' ? '@anyvm' : tgt;
        line = `${svc} ${arg} ${obj()} ${askTgt} ask${appvms.includes(askTgt) ? ` default_target=${askTgt}` : ''}`;
      }
      else if (r < 0.7) line = `${svc} ${arg} ${obj()} @dispvm allow`;
      else if (r < 0.8) line = `${svc} ${arg} ${pick(appvms)} ${pick(appvms)} allow user=user notify=yes`;
      else line = `${svc} ${arg} ${obj()} ${tgt} deny${rand() < 0.5 ? ' notify=no' : ''}`;
      out.push(line);
      count++;
    }
    out.push(`${svc} * @anyvm @anyvm deny`);
    count++;
  }
  const last = files[files.length - 1];
  for (const line of ['* * @anyvm @adminvm deny', '* * @adminvm @anyvm allow', '* * @anyvm @dispvm ask', '* * @anyvm @anyvm deny']) {
    last.push(line);
    count++;
  }
  return { names, files, count };
}

/** A qube a rule's source or target token admits (a name, a tagged or typed qube, any qube). */
function concrete(token) {
  if (token.startsWith('@tag:')) {
    const tag = token.slice(5);
    const tagged = appvms.filter((q) => domains[q].tags?.includes(tag));
    return tagged.length ? pick(tagged) : pick(appvms);
  }
  if (token === '@anyvm' || token.startsWith('@type:')) return pick(appvms);
  return token;
}

/**
 * Requests qrexec-daemon might send: half aimed at a rule of the policy
 * (source and target that the rule's columns admit), half at random
 * services, qubes and every target form, a few for unknown services.
 */
function generateRequests(names, rules, n) {
  const out = [];
  const sources = [...appvms, ...dvms];
  for (let i = 0; i < n; i++) {
    let source, target, svc;
    if (rand() < 0.5) {
      const [service, arg, src, tgt] = pick(rules).split(' ');
      svc = service + (arg === '*' ? (rand() < 0.3 ? `+arg${Math.floor(rand() * 6)}` : '') : arg);
      source = concrete(src);
      target = tgt === '@default' ? '' : concrete(tgt);
    } else {
      svc = (rand() < 0.97 ? pick(names) : `unknown.Service${i}`) + (rand() < 0.3 ? `+arg${Math.floor(rand() * 6)}` : '');
      source = pick(sources);
      target = pick([...appvms.slice(0, 20), '@default', '@dispvm', `@dispvm:${pick(dvms)}`, '@adminvm', 'dom0', '']);
    }
    // assume_yes_for_ask: ask rules are decided in full (their targets collected), with no person in the loop
    out.push(`source=${source}\nintended_target=${target}\nservice_and_arg=${svc}\nassume_yes_for_ask=yes\n\n`);
  }
  return out;
}

// ---------------------------------------------------------------- load client
function loadClient() {
  const node = { cmd: process.execPath, args: [path.join(root, 'bench/load-client.mjs')], name: 'Node load client (bench/load-client.mjs)' };
  if (process.env.BENCH_DAEMON_CLIENT === 'node') return node;
  const exe = path.join(dir, 'load-client');
  const cc = spawnSync('cc', ['-O2', '-pthread', '-o', exe, path.join(root, 'bench/load-client.c')], { stdio: 'ignore' });
  if (cc.status === 0) return { cmd: exe, args: [], name: 'C load client (bench/load-client.c)' };
  return { ...node, name: `${node.name}: no C compiler found; it is slower and takes CPU from the daemon` };
}

function runClient(client, socket, clients, max, seconds, requestsFile) {
  return new Promise((resolve, reject) => {
    const child = spawn(client.cmd, [...client.args, socket, String(clients), String(max), String(seconds), requestsFile], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load client exited ${code}`))));
  });
}

// ---------------------------------------------------------------- servers
/** Wait until `socket` exists and `ready()` says so; fail if the process ends first. */
async function waitFor(child, socket, what, ready = () => true) {
  const t0 = performance.now();
  while (!fs.existsSync(socket) || !ready()) {
    if (child.exitCode !== null) throw new Error(`${what} exited ${child.exitCode}`);
    if (performance.now() - t0 > 20_000) throw new Error(`${what} did not start`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return child;
}

/** Our daemon; `systemInfo`: `{ file }` or `{ qubesd: socket }`. */
async function startDaemon(policyDir, socket, logFile, workers, systemInfo) {
  const args = [DAEMON, '--socket-path', socket, '--eval-socket-path', '', '--gui-socket-path', '', '--path', policyDir];
  args.push('--legacy-path', path.join(dir, 'legacy'), '--log-level', LOG_LEVEL, '--log-file', logFile);
  if (systemInfo.file) args.push('--system-info', systemInfo.file);
  else args.push('--qubesd-internal-socket', systemInfo.qubesd);
  args.push('--rpc-dir', path.join(dir, 'no-agent'), '--qrexec-client', '/bin/false');
  if (workers) args.push('--workers', workers);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  // every worker must be up: wait for the "listening" line
  return waitFor(child, socket, 'daemon', () => fs.readFileSync(logFile, 'utf8').includes('listening on'));
}

/** A helper process that prints "listening" once it serves `socket`. */
async function startListening(what, cmd, args) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`${what} exited ${code}`)));
  });
  return child;
}

/**
 * Qubes' daemon (DIR/qrexec), run by a small script in this run's temporary
 * directory (never in the repository): pyinotify, which it imports to watch
 * the policy, is replaced by a stub (the policy does not change here), and
 * system info comes from `qubesd` instead of /var/run/qubesd.internal.sock.
 * Its decision lines go to `logFile`.
 */
async function startReference(refDir, policyDir, socket, qubesd, logFile) {
  const wrapper = path.join(dir, 'reference-daemon.py');
  fs.writeFileSync(
    wrapper,
    `import asyncio, sys, types
sys.path.insert(0, sys.argv[1])
stub = types.ModuleType("pyinotify")
class WatchManager:
    def add_watch(self, *args, **kwargs): return {}
    def rm_watch(self, *args, **kwargs): pass
class ProcessEvent:
    def __init__(self, *args, **kwargs): pass
class AsyncioNotifier:
    def __init__(self, *args, **kwargs): pass
    def stop(self): pass
stub.WatchManager, stub.ProcessEvent, stub.AsyncioNotifier = WatchManager, ProcessEvent, AsyncioNotifier
for name in ("IN_CREATE", "IN_DELETE", "IN_MODIFY", "IN_MOVED_FROM", "IN_MOVED_TO"):
    setattr(stub, name, 0)
sys.modules["pyinotify"] = stub
import qrexec.utils
qrexec.utils.QUBESD_INTERNAL_SOCK = sys.argv[2]
from qrexec.tools import qrexec_policy_daemon
print("listening", flush=True)
asyncio.run(qrexec_policy_daemon.start_serving(sys.argv[3:]))
`,
  );
  const args = [wrapper, refDir, qubesd, '--policy-path', policyDir, '--socket-path', socket];
  args.push('--eval-socket-path', `${socket}.eval`, '--gui-socket-path', `${socket}.gui`);
  const log = fs.openSync(logFile, 'w');
  const child = spawn(PYTHON, args, { stdio: ['ignore', 'ignore', log] });
  fs.closeSync(log);
  return waitFor(child, socket, "Qubes' daemon");
}

function stop(child) {
  return new Promise((resolve) => {
    child.on('close', resolve);
    child.kill('SIGTERM');
  });
}

/** Warm the server up (JIT, per-service rule lists, the reference's first policy load), then measure 1 and 8 clients. */
async function measure(socket, requestsFile, row) {
  return (await measureInTurn([{ socket, row }], requestsFile, 1))[0];
}

/** The median of numbers. */
const medianOf = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Warm every server up, then measure them in turn, `rounds` times: for 1
 * client, each server, then for 8 clients, each server. One row per server
 * and client count: requests, errors, allows and denies added up over the
 * rounds (so req/s is over all of them), p50 and p99 the median round's.
 * Returns the requests each server answered (its warm-up's too).
 */
async function measureInTurn(servers, requestsFile, rounds) {
  const answered = [];
  for (const { socket } of servers) answered.push((await runClient(client, socket, 8, 20_000, 1.5, requestsFile)).requests);
  const runs = servers.map(() => RUNS.map(() => []));
  for (let round = 0; round < rounds; round++)
    for (const [j, run] of RUNS.entries())
      for (const [i, { socket }] of servers.entries()) {
        const r = await runClient(client, socket, run.clients, run.max / rounds, SECONDS / rounds, requestsFile);
        answered[i] += r.requests - r.errors;
        runs[i][j].push(r);
      }
  for (const [i, { row }] of servers.entries())
    for (const [j, run] of RUNS.entries()) {
      const rs = runs[i][j];
      const sum = (k) => rs.reduce((a, r) => a + r[k], 0);
      rows.push({
        ...row,
        clients: run.clients,
        requests: sum('requests'),
        seconds: sum('seconds'),
        errors: sum('errors'),
        allow: sum('allow'),
        deny: sum('deny'),
        p50_ms: medianOf(rs.map((r) => r.p50_ms)),
        p99_ms: medianOf(rs.map((r) => r.p99_ms)),
        rounds: rs.map((r) => (r.requests - r.errors) / r.seconds),
      });
    }
  return answered;
}

/** Decision lines in a log, ours (`qrexec: …`) or the reference's (the same prefix). */
const decisionLines = (logFile) => fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.startsWith('qrexec: ')).length;

// ---------------------------------------------------------------- main
if (!fs.existsSync(DAEMON)) {
  console.error('dist/bin/qrexec-policy-daemon.js is missing: run `npm run build` (npm run bench does it first)');
  process.exit(1);
}
const client = loadClient();
const loadBefore = os.loadavg();
const rows = [];
const notes = [];
const trees = [];
for (const total of RULES) {
  const policyDir = path.join(dir, `policy-${total}`);
  fs.mkdirSync(policyDir);
  const { names, files, count } = generatePolicy(total);
  files.forEach((lines, i) => fs.writeFileSync(path.join(policyDir, `${String(i * 5).padStart(2, '0')}-gen.policy`), lines.join('\n') + '\n'));
  const requestsFile = path.join(dir, `requests-${total}`);
  const ruleLines = files.flat().filter((l) => !l.startsWith('*') && !l.includes(' @anyvm @anyvm deny'));
  fs.writeFileSync(requestsFile, generateRequests(names, ruleLines, 5000).join('\0') + '\0');
  const base = { shape: 'system info file', rules: count, services: names.length };
  trees.push({ policyDir, requestsFile, base });
  // the floor and each of our daemons (one per --workers value) serve side by side, measured in turn
  const servers = [];
  const started = [];
  if (FLOOR) {
    const socket = path.join(dir, `floor-${total}.sock`);
    started.push(await startListening('floor server', process.execPath, [path.join(root, 'bench/floor-server.mjs'), socket]));
    servers.push({ socket, row: { ...base, server: 'floor', workers: 1 } });
  }
  const logs = [];
  for (const [i, workers] of (WORKERS.length ? WORKERS : [null]).entries()) {
    const socket = path.join(dir, `policy-${total}-${i}.sock`);
    const logFile = path.join(dir, `daemon-${total}-${workers ?? 'default'}.log`);
    fs.writeFileSync(logFile, '');
    started.push(await startDaemon(policyDir, socket, logFile, workers, { file: siFile }));
    servers.push({ socket, row: { ...base, server: 'ours', workers: workers ?? DEFAULT_WORKERS } });
    logs.push({ logFile, workers, at: servers.length - 1 });
  }
  const answered = await measureInTurn(servers, requestsFile, ROUNDS);
  for (const child of started) await stop(child);
  // every answered request is one decision line in the log (the warm-up's too)
  for (const { logFile, workers, at } of logs)
    notes.push(`${count} rules, ${workers ?? DEFAULT_WORKERS} workers: ${decisionLines(logFile)} decision lines logged for ${answered[at]} requests`);
}

if (PRODUCTION) {
  const qubesdSocket = path.join(dir, 'qubesd.internal.sock');
  const qubesd = await startListening('fake qubesd', process.execPath, [path.join(root, 'bench/fake-qubesd.mjs'), qubesdSocket, siFile]);
  for (const { policyDir, requestsFile, base } of trees) {
    const prod = { ...base, shape: 'fake qubesd (50 qubes)' };
    const socket = path.join(dir, `prod-${base.rules}.sock`);
    const logFile = path.join(dir, `prod-${base.rules}.log`);
    fs.writeFileSync(logFile, '');
    const daemon = await startDaemon(policyDir, socket, logFile, WORKERS[0] ?? null, { qubesd: qubesdSocket });
    await measure(socket, requestsFile, { ...prod, server: 'ours', workers: WORKERS[0] ?? DEFAULT_WORKERS });
    await stop(daemon);
    if (REFERENCE === null) continue;
    // a socket of its own per run: one left behind by the run before would look ready before this one listens
    const refSocket = path.join(dir, `reference-${base.rules}.sock`);
    const refLog = path.join(dir, `reference-${base.rules}.log`);
    const ref = await startReference(REFERENCE, policyDir, refSocket, qubesdSocket, refLog);
    const answered = await measure(refSocket, requestsFile, { ...prod, server: "Qubes' daemon", workers: 1 });
    await stop(ref);
    notes.push(`Qubes' daemon, ${base.rules} rules: ${decisionLines(refLog)} decision lines logged for ${answered} requests`);
  }
  await stop(qubesd);
  if (REFERENCE === null)
    notes.push("Qubes' daemon not measured: pass `--reference DIR` to npm run bench (or QREXEC_REFERENCE=DIR), DIR holding Qubes' `qrexec` package");
}

if (process.env.BENCH_DAEMON_KEEP) console.log(`kept ${dir}`);
else fs.rmSync(dir, { recursive: true, force: true });

console.log(`qrexec-policy-daemon, one connection per request on the unix policy socket,`);
const load = (l) => l.map((x) => x.toFixed(2)).join(' ');
console.log(`log level ${LOG_LEVEL} to a file; ${client.name};`);
console.log(`${os.availableParallelism()} CPUs, load average ${load(loadBefore)} before, ${load(os.loadavg())} after (other work on the machine skews the figures)`);
console.log(`each configuration bounded by its request count and ${SECONDS} s, the floor's and ours measured in turn in ${ROUNDS} rounds; every request carries assume_yes_for_ask=yes;`);
console.log('"÷ floor": against the floor server with as many clients on the same policy\'s requests\n');
console.log('| system info | rules | server | workers | clients | requests | req/s | p50 ms | p99 ms | allow | deny | errors | req/s ÷ floor | p50 ÷ floor |');
console.log('| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
const floorOf = (r) => rows.find((f) => f.server === 'floor' && f.rules === r.rules && f.clients === r.clients);
for (const r of rows) {
  // answered requests: connections refused or closed unanswered are in the errors column, not the rate
  r.rps = (r.requests - r.errors) / r.seconds;
  const f = floorOf(r);
  const vs = f && r !== f ? [(r.rps / ((f.requests - f.errors) / f.seconds)).toFixed(2), (r.p50_ms / f.p50_ms).toFixed(2)] : ['', ''];
  console.log(
    `| ${r.shape} | ${r.rules} | ${r.server} | ${r.workers} | ${r.clients} | ${r.requests} | ${Math.round(r.rps)} | ${r.p50_ms.toFixed(3)} | ${r.p99_ms.toFixed(3)} | ${r.allow} | ${r.deny} | ${r.errors} | ${vs[0]} | ${vs[1]} |`,
  );
}
console.log('');
// the ratio in each round: how much of the spread is the machine's
for (const r of rows) {
  const f = floorOf(r);
  if (!f || f === r || r.rounds.length < 2) continue;
  notes.push(`${r.rules} rules, ${r.clients} client${r.clients === 1 ? '' : 's'}, ${r.server} ÷ floor by round: ${r.rounds.map((x, i) => (x / f.rounds[i]).toFixed(2)).join(' ')}`);
}
for (const n of notes) console.log(n);
if (process.env.BENCH_SUMMARY) fs.writeFileSync(process.env.BENCH_SUMMARY, JSON.stringify({ daemon: rows, loadBefore, loadAfter: os.loadavg() }));
// errors of Qubes' daemon are its own (it crashes on some requests); ours must answer every one
const failed = rows.some((r) => r.errors > 0 && r.server !== "Qubes' daemon");
if (failed) console.log('\nsome requests got no valid answer (errors column)');
process.exit(failed ? 1 : 0);

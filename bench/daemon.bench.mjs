#!/usr/bin/env node
// qrexec-policy-daemon throughput and latency (issue 4): one connection per
// request over the unix policy socket, as qrexec-daemon asks, with 1 and 8
// concurrent clients, against a generated 1,000-rule and 10,000-rule policy
// and `--system-info FILE`. Every run is bounded in requests and seconds.
//
// The load client is bench/load-client.c (compiled here with cc) so that the
// client costs little of the CPU the daemon is measured on; without a C
// compiler, bench/load-client.mjs stands in (and says so).
//
// Environment: BENCH_DAEMON_WORKERS (comma list, e.g. "1,2": daemon --workers
// values to compare; default: the daemon's own default), BENCH_DAEMON_SECONDS
// (time limit per measured run, default 4), BENCH_DAEMON_RULES (default
// "1000,10000"), BENCH_DAEMON_LOG (log level, default info), BENCH_DAEMON_KEEP
// (keep the generated policies, requests and logs, and say where),
// BENCH_DAEMON_CLIENT=node (use the Node load client even where cc exists).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const DAEMON = path.join(root, 'dist/bin/qrexec-policy-daemon.js');
const SECONDS = Number(process.env.BENCH_DAEMON_SECONDS ?? 4);
const RULES = (process.env.BENCH_DAEMON_RULES ?? '1000,10000').split(',').map(Number);
const WORKERS = (process.env.BENCH_DAEMON_WORKERS ?? '').split(',').filter(Boolean);
const LOG_LEVEL = process.env.BENCH_DAEMON_LOG ?? 'info';
const FLOOR = process.env.BENCH_DAEMON_FLOOR !== '0';
const RUNS = [
  { clients: 1, max: 60_000 },
  { clients: 8, max: 200_000 },
];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qpd-bench-'));
// the daemon's own default: one worker process per CPU, at most 4
const DEFAULT_WORKERS = `${Math.min(4, os.availableParallelism())} (default)`;

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
const domains = {
  dom0: { type: 'AdminVM', uuid: '00000000-0000-0000-0000-000000000000', power_state: 'Running', tags: [], guivm: null, icon: 'adminvm-black' },
};
const appvms = [];
const dvms = ['default-dvm', 'whonix-dvm', 'fedora-dvm'];
for (const [i, name] of dvms.entries())
  domains[name] = { type: 'AppVM', uuid: uuid(900 + i), template_for_dispvms: true, tags: ['dvm'], guivm: null, default_dispvm: name, icon: 'appvm-red' };
for (const t of ['fedora-41', 'debian-12', 'whonix-17'])
  domains[t] = { type: 'TemplateVM', uuid: uuid(800 + appvms.length), tags: [], guivm: null, icon: 'templatevm-black' };
for (let i = 0; i < 60; i++) {
  const name = i < TAGS.length ? TAGS[i] : `${pick(TAGS)}-${i}`;
  appvms.push(name);
  domains[name] = {
    type: i % 17 === 0 ? 'StandaloneVM' : 'AppVM',
    uuid: uuid(1 + i),
    tags: [pick(TAGS), pick(TAGS)],
    power_state: rand() < 0.6 ? 'Running' : 'Halted',
    guivm: null,
    default_dispvm: pick(dvms),
    icon: 'appvm-blue',
  };
}
for (const s of ['sys-net', 'sys-firewall', 'sys-usb', 'sys-whonix']) {
  appvms.push(s);
  domains[s] = { type: 'AppVM', uuid: uuid(700 + appvms.length), tags: ['sys'], power_state: 'Running', guivm: null, default_dispvm: 'default-dvm' };
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

// ---------------------------------------------------------------- daemon
async function startDaemon(policyDir, socket, logFile, workers) {
  const args = [DAEMON, '--socket-path', socket, '--eval-socket-path', '', '--gui-socket-path', '', '--path', policyDir];
  args.push('--legacy-path', path.join(dir, 'legacy'), '--system-info', siFile, '--log-level', LOG_LEVEL, '--log-file', logFile);
  args.push('--rpc-dir', path.join(dir, 'no-agent'), '--qrexec-client', '/bin/false');
  if (workers) args.push('--workers', workers);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const t0 = performance.now();
  while (!fs.existsSync(socket)) {
    if (child.exitCode !== null) throw new Error(`daemon exited ${child.exitCode}`);
    if (performance.now() - t0 > 20_000) throw new Error('daemon did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  // every worker must be up: wait for the "listening" line
  while (!fs.readFileSync(logFile, 'utf8').includes('listening on')) await new Promise((r) => setTimeout(r, 20));
  return child;
}

/** The floor: bench/floor-server.mjs, a socket that answers without any policy. */
async function startFloor(socket) {
  const child = spawn(process.execPath, [path.join(root, 'bench/floor-server.mjs'), socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`floor server exited ${code}`)));
  });
  return child;
}

function stopDaemon(child) {
  return new Promise((resolve) => {
    child.on('close', resolve);
    child.kill('SIGTERM');
  });
}

// ---------------------------------------------------------------- main
if (!fs.existsSync(DAEMON)) {
  console.error('dist/bin/qrexec-policy-daemon.js is missing: run `npm run build` (npm run bench does it first)');
  process.exit(1);
}
const client = loadClient();
const loadBefore = os.loadavg();
const rows = [];
const notes = [];
for (const total of RULES) {
  const policyDir = path.join(dir, `policy-${total}`);
  fs.mkdirSync(policyDir);
  const { names, files, count } = generatePolicy(total);
  files.forEach((lines, i) => fs.writeFileSync(path.join(policyDir, `${String(i * 5).padStart(2, '0')}-gen.policy`), lines.join('\n') + '\n'));
  const requestsFile = path.join(dir, `requests-${total}`);
  const ruleLines = files.flat().filter((l) => !l.startsWith('*') && !l.includes(' @anyvm @anyvm deny'));
  fs.writeFileSync(requestsFile, generateRequests(names, ruleLines, 5000).join('\0') + '\0');
  if (FLOOR) {
    const socket = path.join(dir, 'floor.sock');
    const floor = await startFloor(socket);
    await runClient(client, socket, 8, 20_000, 1.5, requestsFile);
    for (const run of RUNS) {
      const r = await runClient(client, socket, run.clients, run.max, SECONDS, requestsFile);
      rows.push({ rules: count, services: names.length, workers: 'floor', clients: run.clients, ...r });
    }
    await stopDaemon(floor);
  }
  for (const workers of WORKERS.length ? WORKERS : [null]) {
    const socket = path.join(dir, 'policy.sock');
    const logFile = path.join(dir, `daemon-${total}-${workers ?? 'default'}.log`);
    fs.writeFileSync(logFile, '');
    const daemon = await startDaemon(policyDir, socket, logFile, workers);
    // warm-up: JIT, per-service rule lists
    let answered = (await runClient(client, socket, 8, 20_000, 1.5, requestsFile)).requests;
    for (const run of RUNS) {
      const r = await runClient(client, socket, run.clients, run.max, SECONDS, requestsFile);
      answered += r.requests - r.errors;
      rows.push({ rules: count, services: names.length, workers: workers ?? DEFAULT_WORKERS, clients: run.clients, ...r });
    }
    await stopDaemon(daemon);
    // every answered request is one decision line in the log (the warm-up's too)
    const decisions = fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.startsWith('qrexec: ')).length;
    notes.push(`${count} rules, ${workers ?? DEFAULT_WORKERS} workers: ${decisions} decision lines logged for ${answered} requests`);
  }
}
if (process.env.BENCH_DAEMON_KEEP) console.log(`kept ${dir}`);
else fs.rmSync(dir, { recursive: true, force: true });

console.log(`qrexec-policy-daemon, one connection per request on the unix policy socket, --system-info FILE,`);
const load = (l) => l.map((x) => x.toFixed(2)).join(' ');
console.log(`log level ${LOG_LEVEL} to a file; ${client.name};`);
console.log(`${os.availableParallelism()} CPUs, load average ${load(loadBefore)} before, ${load(os.loadavg())} after (other work on the machine skews the figures)`);
console.log(`each run bounded by its request count and ${SECONDS} s; every request carries assume_yes_for_ask=yes\n`);
console.log('| rules | services | workers | clients | requests | req/s | p50 ms | p99 ms | allow | deny | errors |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  const rps = r.requests / r.seconds;
  console.log(
    `| ${r.rules} | ${r.services} | ${r.workers} | ${r.clients} | ${r.requests} | ${Math.round(rps)} | ${r.p50_ms.toFixed(3)} | ${r.p99_ms.toFixed(3)} | ${r.allow} | ${r.deny} | ${r.errors} |`,
  );
}
console.log('');
for (const n of notes) console.log(n);
const failed = rows.some((r) => r.errors > 0);
if (failed) console.log('\nsome requests got no valid answer (errors column)');
process.exit(failed ? 1 : 0);

#!/usr/bin/env node
// `npm run bench:soak`: the daemon's reload soak (issue 14). The real daemon,
// with its default worker processes, under a steady load of clients while
// its policy is changed, again and again, in the five ways policy really is
// changed (one after another, for SOAK_MINUTES in all, default 10), and a
// count of every answer that came from a policy that never existed, or from
// an old one. Not part of `npm run bench` (it takes minutes);
// test/daemon/settle.test.ts runs short versions of it in `npm test`.
//
// Environment: SOAK_MINUTES (total, shared by the styles), SOAK_EDITS (edits
// per style, instead of or as well as the time), SOAK_STYLES (comma list,
// default all five), SOAK_CLIENTS (concurrent clients, default 4),
// SOAK_WORKERS (daemon --workers; default the daemon's own), SOAK_PAUSE_MS
// (pause between edits, "MIN,MAX", default 100,400), SOAK_GAP_MS (pause
// between the steps of one edit, default 2), SOAK_LAYOUT (link: policy.d is
// a symbolic link to the tree, as the symlink style needs, the default; dir:
// a plain directory), SOAK_DAEMON (another build's bin/qrexec-policy-daemon.js,
// to compare), SOAK_JSON (also print the rows as JSON, last line), SOAK_KEEP
// (keep the tree and the daemon's log, and say where). Exit status 1 if any
// answer came from an incomplete or stale policy, or went unanswered.
//
// Every complete version of the policy denies the canary request and allows
// the version probe with `user=vN`:
//
//   10-a.policy   soak.Version * work personal allow user=vN
//                 (padding, so that the file takes several writes)
//                 soak.Canary * work personal deny
//   90-z.policy   soak.Canary * @anyvm @anyvm allow
//                 soak.Version * @anyvm @anyvm deny
//
// Any incomplete state of 10-a.policy (missing, empty, cut anywhere) either
// allows the canary (the deny line not there yet: 90-z.policy allows it) or
// fails to load (a line cut in the middle: everything denied, so the probe
// is denied); so does a tree caught while it is removed and recreated. An
// answer that allows the canary, or denies the probe, came from a policy
// that never existed as a whole. A probe answered with a version older than
// one completed more than STALE_BOUND_MS before the request was sent is a
// stale answer.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const STYLES = ['atomic', 'in-place', 'backup-replace', 'dir-recreate', 'symlink'];
/** A request sent this long after a change was complete must see it (the daemon makes a request wait at most 200 ms). */
const STALE_BOUND_MS = 200;
/** The daemon's quiet period (src/daemon/cache.ts): an edit that pauses longer than this inside is outside the writer model. */
const QUIET_MS = 50;

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const DAEMON = path.join(root, 'dist/bin/qrexec-policy-daemon.js');

const SYSTEM_INFO = {
  domains: {
    dom0: { type: 'AdminVM', uuid: '00000000-0000-0000-0000-000000000000', power_state: 'Running', guivm: null, tags: [] },
    work: { type: 'AppVM', uuid: '11111111-1111-4111-8111-111111111111', power_state: 'Running', guivm: null, tags: [] },
    personal: { type: 'AppVM', uuid: '22222222-2222-4222-8222-222222222222', power_state: 'Running', guivm: null, tags: [] },
  },
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function fileA(v) {
  const pad = Array.from({ length: 40 }, (_, i) => `soak.Pad${i} * @anyvm @anyvm deny notify=no`).join('\n');
  return `# version ${v}\nsoak.Version * work personal allow user=v${v}\n${pad}\nsoak.Canary * work personal deny notify=no\n`;
}

const FILE_Z = 'soak.Canary * @anyvm @anyvm allow\nsoak.Version * @anyvm @anyvm deny notify=no\n';

/**
 * A tree under `base`: policy.d (with `link`, a symbolic link to
 * trees/tN, as a tree deployed whole is; without, a directory), the
 * system info, an empty legacy directory, the socket path.
 */
function makeTree(base, { link = true } = {}) {
  fs.mkdirSync(path.join(base, 'trees'), { recursive: true });
  fs.mkdirSync(path.join(base, 'legacy'), { recursive: true });
  fs.mkdirSync(path.join(base, 'rpc'), { recursive: true });
  fs.writeFileSync(path.join(base, 'si.json'), JSON.stringify(SYSTEM_INFO));
  const policy = path.join(base, 'policy.d');
  const first = link ? path.join(base, 'trees', 't0') : policy;
  fs.mkdirSync(first);
  fs.writeFileSync(path.join(first, '10-a.policy'), fileA(0));
  fs.writeFileSync(path.join(first, '90-z.policy'), FILE_Z);
  if (link) fs.symlinkSync('trees/t0', policy);
  return { base, policy, link, sock: path.join(base, 'p.sock') };
}

// ---------------------------------------------------------------- the writer
// Edits run in a worker thread of their own, as an editor or a deployment
// script is a process of its own: its pauses are real sleeps (Atomics.wait),
// which the clients' work in the main thread cannot stretch.

const clock = () => performance.timeOrigin + performance.now();
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleepSync = (ms) => Atomics.wait(sleeper, 0, 0, ms);

/** A pause inside an edit (the writer model holds only while pauses stay short: see step()). */
function gap(w) {
  sleepSync(w.gapMs);
}

/**
 * A change a reader can see was just made (a file truncated, written,
 * renamed, removed). The time since the previous one is how long the tree
 * stood still half-edited, whatever made it so: the pause asked for, or a
 * busy machine that did not run the writer in between (a thread preempted
 * between truncating a file and writing it leaves it empty as long).
 * Measured only around the pauses, such stalls went unseen: under load an
 * in-place edit stood still for over QUIET_MS and counted as in the model.
 */
function step(w) {
  const now = clock();
  w.maxGap = Math.max(w.maxGap, now - w.last);
  w.last = now;
}

/** Write `text` to `file` (truncated) in `pieces` writes, with a pause between them. */
function writeFile(w, file, text, pieces = 4) {
  const cuts = [0];
  for (let i = 1; i < pieces; i++) cuts.push(Math.floor((text.length * i) / pieces) + Math.floor(Math.random() * 7) - 3);
  cuts.push(text.length);
  const fd = fs.openSync(file, 'w');
  step(w);
  try {
    for (let i = 0; i + 1 < cuts.length; i++) {
      if (i > 0) gap(w);
      fs.writeSync(fd, text.slice(cuts[i], cuts[i + 1]));
      step(w);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** One change of the policy to the next version, in `style`. */
function edit(w, style) {
  const v = ++w.version;
  const p = w.policy;
  const a = path.join(p, '10-a.policy');
  w.maxGap = 0;
  const start = clock();
  switch (style) {
    case 'atomic': {
      // written under another name, renamed over the old file (rpm, salt, `install`)
      fs.writeFileSync(path.join(p, '.10-a.policy.tmp'), fileA(v));
      fs.renameSync(path.join(p, '.10-a.policy.tmp'), a);
      break;
    }
    case 'in-place': {
      // truncated, then written in several writes (`>`, many editors)
      w.last = clock();
      writeFile(w, a, fileA(v));
      break;
    }
    case 'backup-replace': {
      // the old file renamed to a backup, a new one written, the backup removed (vim's default)
      w.last = clock();
      fs.renameSync(a, a + '~');
      step(w);
      gap(w);
      writeFile(w, a, fileA(v));
      gap(w);
      fs.rmSync(a + '~');
      step(w);
      break;
    }
    case 'dir-recreate': {
      // the directory removed and made again, its files copied back one by one
      const dir = fs.realpathSync(p);
      w.last = clock();
      fs.rmSync(dir, { recursive: true });
      step(w);
      gap(w);
      fs.mkdirSync(dir);
      step(w);
      gap(w);
      writeFile(w, path.join(dir, '90-z.policy'), FILE_Z, 2);
      gap(w);
      writeFile(w, path.join(dir, '10-a.policy'), fileA(v));
      break;
    }
    case 'symlink': {
      // a whole new tree, then the link switched atomically: ln -s tN tmp && mv -T tmp policy.d
      const dir = path.join(w.base, 'trees', `t${v}`);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, '10-a.policy'), fileA(v));
      fs.writeFileSync(path.join(dir, '90-z.policy'), FILE_Z);
      fs.symlinkSync(`trees/t${v}`, path.join(w.base, 'policy.tmp'));
      fs.renameSync(path.join(w.base, 'policy.tmp'), p);
      // the tree before last is no longer anybody's
      fs.rmSync(path.join(w.base, 'trees', `t${v - 2}`), { recursive: true, force: true });
      break;
    }
    default:
      throw new Error(`unknown edit style ${style}`);
  }
  return { v, start, end: clock(), maxGap: w.maxGap };
}

/**
 * The writer thread: for each style it is sent, edits until `edits` edits
 * kept to the writer model (no pause inside longer than the daemon's quiet
 * period; the others are made and reported, but do not count) or until
 * `seconds` are over, pausing between edits.
 */
function writerThread() {
  // last: when the edit's previous visible change was made (set just before its first one)
  const w = { ...workerData, version: 0, maxGap: 0, last: 0 };
  parentPort.on('message', ({ style, edits, seconds }) => {
    const until = clock() + seconds * 1000;
    let kept = 0;
    // (a bound on the edits, however busy the machine)
    for (let n = 0; kept < edits && n < 3 * edits + 20 && clock() < until; n++) {
      const e = edit(w, style);
      if (e.maxGap < QUIET_MS) kept++;
      parentPort.postMessage({ type: 'edit', ...e });
      sleepSync(w.pauseMs[0] + Math.random() * (w.pauseMs[1] - w.pauseMs[0]));
    }
    parentPort.postMessage({ type: 'done' });
  });
}

const REQUESTS = {
  canary: 'source=work\nintended_target=personal\nservice_and_arg=soak.Canary\n\n',
  version: 'source=work\nintended_target=personal\nservice_and_arg=soak.Version\n\n',
};

function ask(sock, text) {
  return new Promise((resolve) => {
    const chunks = [];
    const c = net.createConnection(sock, () => c.write(text));
    c.on('data', (b) => chunks.push(b));
    c.on('error', () => {});
    c.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

/**
 * `concurrency` clients, each asking one question after another (the canary
 * and the version probe in turn), each on a connection of its own. Every
 * answer is kept as: kind (0 canary, 1 probe), when it was sent and answered,
 * and what it said (canary: 1 allowed, 0 denied; probe: the version, -1
 * denied, -2 no answer or anything else).
 */
function startLoad(sock, concurrency) {
  const out = { kind: [], sent: [], answered: [], value: [] };
  let running = true;
  const client = async (k) => {
    for (let i = k; running; i++) {
      const kind = i % 2;
      const sent = clock();
      const text = await ask(sock, kind === 0 ? REQUESTS.canary : REQUESTS.version);
      out.kind.push(kind);
      out.sent.push(sent);
      out.answered.push(clock());
      if (kind === 0) out.value.push(text.includes('result=allow') ? 1 : text === 'result=deny\n' ? 0 : -2);
      else {
        const m = /^user=v(\d+)\nresult=allow\n/.exec(text);
        out.value.push(m ? Number(m[1]) : text === 'result=deny\n' ? -1 : -2);
      }
    }
  };
  const clients = Array.from({ length: concurrency }, (_, k) => client(k));
  return {
    out,
    stop: async () => {
      running = false;
      await Promise.all(clients);
      return out;
    },
  };
}

function percentile(sorted, p) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Judge the answers given between `from` and `to` against the edits made:
 * answers from an incomplete policy, stale answers, latency during changes
 * (requests sent while an edit was under way or within STALE_BOUND_MS of
 * its end), and how soon each new version was first served. An edit that
 * paused longer than QUIET_MS inside (the machine too busy to wake the
 * writer in time) is outside what the daemon promises: answers from an
 * incomplete policy during it are counted apart, as `excused`.
 */
function judge(load, edits, from, to) {
  const { kind, sent, answered, value } = load;
  let requests = 0;
  let incomplete = 0;
  let excused = 0;
  let unanswered = 0;
  let stale = 0;
  const during = [];
  const all = [];
  const firstSeen = new Map();
  const ends = edits.map((e) => e.end + STALE_BOUND_MS);
  for (let i = 0; i < kind.length; i++) {
    const ts = sent[i];
    if (ts < from || ts >= to) continue;
    requests++;
    const latency = answered[i] - ts;
    all.push(latency);
    // an edit under way, or just over
    let lo = 0;
    let hi = edits.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (edits[mid].start <= ts) lo = mid + 1;
      else hi = mid;
    }
    const last = lo - 1; // the last edit started before the request
    if (last >= 0 && ts <= ends[last]) during.push(latency);
    const v = value[i];
    if (v === -2) {
      unanswered++;
      continue;
    }
    const broken = kind[i] === 0 ? v === 1 : v === -1;
    if (broken) {
      if (last >= 0 && ts <= ends[last] && edits[last].maxGap >= QUIET_MS) excused++;
      else incomplete++;
      continue;
    }
    if (kind[i] === 0) continue;
    // the newest version complete for long enough before the request was sent
    let due = -1;
    for (let j = last; j >= 0; j--) {
      if (ends[j] <= ts) {
        due = edits[j].v;
        break;
      }
    }
    if (due >= 0 && v < due) stale++;
    if (!firstSeen.has(v) || firstSeen.get(v) > answered[i]) firstSeen.set(v, answered[i]);
  }
  const seenAfter = [];
  for (const e of edits) {
    if (e.start < from || e.start >= to) continue;
    let first = Infinity;
    for (const [v, at] of firstSeen) if (v >= e.v && at < first) first = at;
    if (first !== Infinity) seenAfter.push(Math.max(0, first - e.end));
  }
  during.sort((a, b) => a - b);
  all.sort((a, b) => a - b);
  seenAfter.sort((a, b) => a - b);
  const made = edits.filter((e) => e.start >= from && e.start < to);
  return {
    requests,
    changes: made.filter((e) => e.maxGap < QUIET_MS).length,
    outsideModel: made.filter((e) => e.maxGap >= QUIET_MS).length,
    maxGapMs: made.reduce((m, e) => Math.max(m, e.maxGap), 0),
    incomplete,
    excused,
    stale,
    unanswered,
    p50During: percentile(during, 50),
    p99During: percentile(during, 99),
    maxDuring: percentile(during, 100),
    p50All: percentile(all, 50),
    p99All: percentile(all, 99),
    seenAfterP50: percentile(seenAfter, 50),
    seenAfterMax: seenAfter.length ? seenAfter[seenAfter.length - 1] : NaN,
  };
}

/** Resident memory (KiB) and open descriptors of a process and its children (the worker processes). */
function usage(pid) {
  const pids = [pid];
  try {
    pids.push(...fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
  } catch {
    // gone
  }
  let rssKiB = 0;
  let fds = 0;
  for (const p of pids) {
    try {
      rssKiB += Number(/^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))[1]);
      fds += fs.readdirSync(`/proc/${p}/fd`).length;
    } catch {
      // gone meanwhile
    }
  }
  return { processes: pids.length, rssKiB, fds };
}

/** Start the daemon on `tree`; resolves once its socket answers. */
async function startDaemon(tree, { workers, daemon = DAEMON, logLevel = 'warn' } = {}) {
  const args = [
    daemon,
    '--socket-path', tree.sock, '--eval-socket-path', '', '--gui-socket-path', '',
    '--policy-path', tree.policy, '--legacy-path', path.join(tree.base, 'legacy'),
    '--system-info', path.join(tree.base, 'si.json'), '--rpc-dir', path.join(tree.base, 'rpc'),
    '--log-level', logLevel, '--log-file', path.join(tree.base, 'daemon.log'),
  ];
  if (workers !== undefined) args.push('--workers', String(workers));
  // its own process group, so that it and its workers can be ended together; it logs to its file
  const proc = spawn(process.execPath, args, { stdio: 'ignore', detached: true });
  const kill = () => {
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {
      // gone, with its workers
    }
  };
  // a harness that ends early (an exception, process.exit) leaves no daemon behind
  process.on('exit', kill);
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  let gone = false;
  exited.then(() => {
    gone = true;
    process.off('exit', kill);
  });
  const end = performance.now() + 20_000;
  while (!(await ask(tree.sock, REQUESTS.version)).startsWith('user=')) {
    if (gone) throw new Error('the daemon exited before it answered');
    if (performance.now() > end) throw new Error('the daemon did not answer within 20 s');
    await sleep(20);
  }
  return {
    proc,
    exited,
    stop: async () => {
      if (!gone) proc.kill('SIGTERM');
      return exited;
    },
    kill,
  };
}

/**
 * Run the styles one after another against one daemon under load. Each
 * style runs for `seconds` or until `edits` edits kept to the writer model
 * (whichever ends first), with a pause drawn from `pauseMs` between edits.
 * Returns one row per style.
 */
async function runSoak({ base, styles = STYLES, seconds = Infinity, edits = Infinity, pauseMs = [100, 400], gapMs = 2, concurrency = 4, workers, link = true, daemon, progress = () => {} }) {
  const tree = makeTree(base, { link });
  const d = await startDaemon(tree, { workers, daemon });
  const writer = new Worker(new URL(import.meta.url), { workerData: { base, policy: tree.policy, pauseMs, gapMs } });
  writer.unref();
  const rows = [];
  let load;
  try {
    load = startLoad(tree.sock, concurrency);
    const log = path.join(base, 'daemon.log');
    for (const style of styles) {
      const before = usage(d.proc.pid);
      const logBefore = fs.existsSync(log) ? fs.statSync(log).size : 0;
      const from = clock();
      const made = await new Promise((resolve, reject) => {
        const got = [];
        const onMessage = (m) => {
          if (m.type === 'edit') got.push(m);
          else {
            writer.off('message', onMessage);
            writer.off('error', reject);
            resolve(got);
          }
        };
        writer.on('message', onMessage);
        writer.on('error', reject);
        writer.postMessage({ style, edits, seconds });
      });
      // the last change gets its chance to be seen
      await sleep(STALE_BOUND_MS + 100);
      const to = clock();
      const after = usage(d.proc.pid);
      const logText = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(logBefore) : '';
      const row = {
        style,
        seconds: (to - from) / 1000,
        ...judge(load.out, made, from, to),
        loadFailuresLogged: logText.split('\n').filter((l) => l.includes('policy failed to load')).length,
        before,
        after,
      };
      rows.push(row);
      progress(row);
    }
  } finally {
    await writer.terminate();
    await load?.stop();
    await Promise.race([d.stop(), sleep(5000)]);
    d.kill();
  }
  return rows;
}

const fmt = (x, digits = 1) => (Number.isNaN(x) ? '–' : x.toFixed(digits));
const int = (x) => x.toLocaleString('en-US');

/** The table for bench/README.md. */
function table(rows) {
  const lines = [
    '| edit style | minutes | requests | changes | answers from an incomplete policy | stale answers (> 200 ms after the change) | unanswered | edits outside the writer model (answers excused) | p50 / p99 / max ms during changes | p50 / p99 ms overall | new policy first served after, p50 / max ms | longest pause inside an edit, ms | RSS MiB start → end | fds start → end |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.style} | ${fmt(r.seconds / 60, 2)} | ${int(r.requests)} | ${int(r.changes)} | **${r.incomplete}** | **${r.stale}** | ${r.unanswered} | ${r.outsideModel} (${r.excused}) | ${fmt(r.p50During, 2)} / ${fmt(r.p99During)} / ${fmt(r.maxDuring, 0)} | ${fmt(r.p50All, 2)} / ${fmt(r.p99All)} | ${fmt(r.seenAfterP50, 0)} / ${fmt(r.seenAfterMax, 0)} | ${fmt(r.maxGapMs)} | ${fmt(r.before.rssKiB / 1024)} → ${fmt(r.after.rssKiB / 1024)} | ${r.before.fds} → ${r.after.fds} |`,
    );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- the run
if (!isMainThread) writerThread();
else {
  const env = process.env;
  const minutes = env.SOAK_MINUTES !== undefined ? Number(env.SOAK_MINUTES) : env.SOAK_EDITS !== undefined ? Infinity : 10;
  const styles = (env.SOAK_STYLES ?? STYLES.join(',')).split(',').filter(Boolean);
  const concurrency = Number(env.SOAK_CLIENTS ?? 4);
  const workers = env.SOAK_WORKERS === undefined ? undefined : Number(env.SOAK_WORKERS);
  const pauseMs = (env.SOAK_PAUSE_MS ?? '100,400').split(',').map(Number);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'qpd-soak-'));
  // a SIGTERM (a test's time limit) still ends the daemon: exit handlers run
  process.on('SIGTERM', () => process.exit(1));

  console.log(
    `soak: ${styles.length} edit styles one after another, ${minutes === Infinity ? `${env.SOAK_EDITS} edits each` : `${minutes} min in all`}, ` +
      `${concurrency} clients, workers ${workers ?? 'default'}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
  );
  const rows = await runSoak({
    base,
    styles,
    seconds: (minutes * 60) / styles.length,
    edits: env.SOAK_EDITS !== undefined ? Number(env.SOAK_EDITS) : Infinity,
    pauseMs,
    gapMs: Number(env.SOAK_GAP_MS ?? 2),
    concurrency,
    workers,
    link: (env.SOAK_LAYOUT ?? 'link') === 'link',
    daemon: env.SOAK_DAEMON,
    progress: (r) =>
      console.log(
        `  ${r.style}: ${r.requests} requests, ${r.changes} changes, ${r.incomplete} incomplete, ${r.stale} stale, ${r.unanswered} unanswered, ` +
          `${r.outsideModel} edits outside the writer model`,
      ),
  });
  console.log(`load average after: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  console.log(table(rows));
  if (env.SOAK_JSON) console.log(JSON.stringify(rows));
  const bad = rows.reduce((n, r) => n + r.incomplete + r.stale + r.unanswered, 0);
  if (env.SOAK_KEEP) console.log(`\nkept: ${base}`);
  else fs.rmSync(base, { recursive: true, force: true });
  process.exit(bad === 0 ? 0 : 1);
}

/**
 * Properties of the front ends, on real files: (a) every request gets
 * exactly one answer (one JSON line per batch line, malformed lines
 * included; one block and exit status per call); (b) malformed system info
 * and batch lines deny, naming the cause; (f) `eval --batch`, `eval`,
 * 3-argument `qrexec-policy-exec` and the daemon give the same answer, in
 * process for the bulk and as real processes of dist/bin for a sample;
 * and the daemon frame fuzzer: random frames to a live daemon on
 * temporary unix sockets, each answered exactly as SPEC §8 says or closed.
 */
import fc from 'fast-check';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { umbrellaMain } from '../../../src/cli/umbrella.js';
import { evaluate } from '../../../src/policy/evaluate.js';
import { loadPolicySet, type Policy } from '../../../src/policy/policy.js';
import { SystemInfoError } from '../../../src/policy/system-info.js';
import { readSystemInfoFile } from '../../../src/io/sources.js';
import { decisionToJson, type DecisionJson } from '../../../src/render/json.js';
import { arbCase, describeCase, type Case } from '../gen/case.js';
import { arbFrame, type Frame } from '../gen/frames.js';
import type { PolicyLine, PolicyTree } from '../gen/policy.js';
import type { Req } from '../gen/request.js';
import { arbBadSystem, arbSystem, type BadSystem } from '../gen/system.js';
import { expectPolicyFrame, expectServiceFrame, type Question } from './frame-oracle.js';
import {
  askDaemon, batchInProcess, batchLine, BIN, binsBuilt, captureIo, evalInProcess, execArgv, execInProcess,
  expectedBlock, frameFor, noInternalErrors, runProcess, socketExchange, sourceArgv, startDaemon, waitForSocket,
} from './frontends.js';
import { fail, property, sameText, type AnyProperty } from './property.js';
import { scratchCaseDir, writeTree, type DiskTree } from './tree.js';

/** A batch line that is not a usable request, and what its deny reason must say. */
const NOISE: ReadonlyArray<[string, RegExp]> = [
  ['not json', /^bad batch line: not valid JSON/],
  ['', /^bad batch line: not valid JSON/],
  ['{"source": "work", "target": ""', /^bad batch line: not valid JSON/],
  ['[1, 2]', /^bad batch line: not a JSON object/],
  ['null', /^bad batch line: not a JSON object/],
  ['"work"', /^bad batch line: not a JSON object/],
  ['{"source": "work", "target": "vault"}', /"service" must be a string/],
  ['{"source": 1, "target": "", "service": "svc.A"}', /"source" must be a string/],
  ['{"source": "work", "target": null, "service": "svc.A"}', /"target" must be a string/],
  ['{"source": "work", "target": "", "service": "svc.A", "path": 5}', /"path" must be/],
  ['{"source": "work", "target": "", "service": "svc.A", "path": ["/a", 3]}', /"path" must be/],
  ['{"source": "work", "target": "", "service": "svc.A", "legacy_path": []}', /"legacy_path" must be a string/],
  ['{"source": "work", "target": "", "service": "svc.A", "assume_yes_for_ask": "yes"}', /"assume_yes_for_ask" must be a boolean/],
];

type Entry = { kind: 'req'; q: Req; line: string } | { kind: 'noise'; line: string; mentions: RegExp };

const arbEntries = (c: Case) =>
  fc
    .tuple(
      fc.array(fc.tuple(fc.nat(), fc.constantFrom(...NOISE)), { maxLength: 3 }),
      fc.array(fc.constantFrom('plain', 'crlf', 'extra-key'), { minLength: c.reqs.length, maxLength: c.reqs.length }),
    )
    .map(([noise, styles]) => {
      const entries: Entry[] = c.reqs.map((q, i) => {
        const line = batchLine(q);
        const style = styles[i]!;
        return { kind: 'req', q, line: style === 'crlf' ? line + '\r' : style === 'extra-key' ? line.replace(/}$/, ', "comment": [1]}') : line };
      });
      for (const [at, [line, mentions]] of noise) entries.splice(at % (entries.length + 1), 0, { kind: 'noise', line, mentions });
      return entries;
    });

interface FrontCase {
  c: Case;
  /** Malformed system info used instead of the case's, or null. */
  bad: BadSystem | null;
  entries: Entry[];
  /** Per request: also run exec with --just-evaluate and ask the daemon with just_evaluate=yes. */
  just: boolean[];
  /** R4.0 semantics (`--legacy`; the daemon has no such mode and sits these out). */
  legacy: boolean;
}

const arbFrontCase: fc.Arbitrary<FrontCase> = fc
  .tuple(arbCase, fc.option(arbBadSystem, { freq: 6 }), fc.boolean(), fc.nat(7))
  .chain(([c, bad, withLegacy, legacyDice]) => frontCase(c, bad, withLegacy, legacyDice));

/** The batch lines and flags for a case. */
function frontCase(c: Case, bad: BadSystem | null, withLegacy: boolean, legacyDice: number): fc.Arbitrary<FrontCase> {
  // one case in eight with --legacy, which reads the R4.0 directory: mostly give it one
  const legacy = legacyDice === 0;
  const cc = legacy && withLegacy && c.tree.legacy === null ? { ...c, tree: { ...c.tree, legacy: [] } } : c;
  return fc
    .tuple(arbEntries(cc), fc.array(fc.boolean(), { minLength: c.reqs.length, maxLength: c.reqs.length }))
    .map(([entries, just]) => printableFront({ c: cc, bad, entries, just, legacy }));
}

/** How a front-end case shows in a counterexample. */
function printableFront(f: FrontCase): FrontCase {
  return Object.defineProperty(f, fc.toStringMethod, {
    value: () => `${describeCase(f.c)}\nsystem info: ${f.bad ? JSON.stringify(f.bad.text) : 'as above'}${f.legacy ? '\n--legacy' : ''}\nbatch:\n${f.entries.map((e) => e.line).join('\n')}`,
  });
}

const status = (j: DecisionJson) => (j.result === 'allow' ? 0 : j.result === 'ask' ? 3 : 1);

/**
 * What a single `eval` exits with: its decision's status, or 4 ("could not
 * decide") when the system info is unusable or a policy directory cannot be
 * read (eval still prints the deny qrexec would answer; batch lines and
 * qrexec-policy-exec are unchanged). With --legacy and no R4.0 directory
 * that is so whatever the decision says: a bad request is denied for
 * itself before the directory is looked at.
 */
const evalExit = (f: Pick<FrontCase, 'bad' | 'legacy' | 'c'>, j: DecisionJson) =>
  f.bad !== null ||
  (f.legacy && f.c.tree.legacy === null) ||
  /cannot read (the |legacy )?policy directory|legacy policy directory does not exist/.test(j.reason ?? '')
    ? 4
    : status(j);

function prepare(f: FrontCase): { d: DiskTree; batch: string } {
  const d = writeTree(f.c.tree, f.bad ? f.bad.text : f.c.sys.json);
  fs.mkdirSync(path.join(d.root, 'rpc'));
  const batch = path.join(d.root, 'batch.jsonl');
  fs.writeFileSync(batch, f.entries.map((e) => e.line + '\n').join(''));
  return { d, batch };
}

/** The batch answers: one per line, malformed lines denied naming why; the request lines' JSON. */
function checkBatch(f: FrontCase, d: DiskTree, out: { status: number; lines: string[] }): string[] {
  if (out.status !== 0) fail('disagreement', `eval --batch exits ${out.status}`);
  if (out.lines.length !== f.entries.length) fail('disagreement', `eval --batch: ${f.entries.length} lines in, ${out.lines.length} out`);
  const answers: string[] = [];
  f.entries.forEach((e, i) => {
    let j: DecisionJson;
    try {
      j = JSON.parse(out.lines[i]!) as DecisionJson;
    } catch {
      fail('disagreement', `eval --batch line ${i + 1} is not JSON: ${out.lines[i]}`);
    }
    if (e.kind === 'noise') {
      if (j.result !== 'deny') fail('wrong-allow', `batch line ${JSON.stringify(e.line)} answered ${out.lines[i]}`);
      if (!e.mentions.test(j.reason ?? '')) fail('unexplained-deny', `batch line ${JSON.stringify(e.line)}: reason ${JSON.stringify(j.reason)} does not match ${e.mentions}`);
      return;
    }
    if (f.bad !== null) {
      if (j.result !== 'deny') fail('wrong-allow', `malformed system info, yet ${out.lines[i]}`);
      for (const m of [d.si, ...f.bad.mentions])
        if (!(j.reason ?? '').includes(m)) fail('unexplained-deny', `malformed system info: reason ${JSON.stringify(j.reason)} does not mention ${m}`);
    }
    answers.push(out.lines[i]!);
  });
  return answers;
}

/** One case through every front end, in process: the same answer from each, exactly once. */
async function checkFrontends(f: FrontCase): Promise<void> {
  const { d, batch } = prepare(f);
  const daemon = await startDaemon(d, 10);
  try {
    const answers = checkBatch(f, d, await batchInProcess(d, batch, f.legacy));
    for (const [i, q] of f.c.reqs.entries()) {
      const line = answers[i]!;
      const j = JSON.parse(line) as DecisionJson;
      const label = `${JSON.stringify(q)}`;
      const ev = await evalInProcess(d, q, f.legacy);
      sameText(`eval --json vs eval --batch for ${label}`, line + '\n', ev.stdout);
      if (ev.status !== evalExit(f, j)) fail('disagreement', `eval exits ${ev.status} for ${line}`);
      const block = expectedBlock(j, f.c.sys.json.domains) + '\n';
      const ex = await execInProcess(d, q, [], f.legacy);
      sameText(`qrexec-policy-exec vs eval for ${label}`, block, ex.stdout);
      if (ex.status !== (block.includes('result=allow') ? 0 : 1)) fail('disagreement', `qrexec-policy-exec exits ${ex.status} after ${JSON.stringify(ex.stdout)}`);
      if (!f.legacy) sameText(`daemon vs eval for ${label}`, block, await askDaemon(daemon, frameFor(q)));
      if (f.just[i]) {
        const je = await execInProcess(d, q, ['--just-evaluate'], f.legacy);
        if (je.stdout !== '' || je.status !== (j.result === 'allow' ? 0 : 1))
          fail(je.status === 0 && j.result !== 'allow' ? 'wrong-allow' : 'disagreement', `exec --just-evaluate: exit ${je.status}, stdout ${JSON.stringify(je.stdout)} for ${line}`);
        if (!f.legacy) sameText(`daemon just_evaluate for ${label}`, j.result === 'allow' ? 'result=allow\n' : 'result=deny\n', await askDaemon(daemon, frameFor(q, true)));
      }
    }
    noInternalErrors('daemon', daemon.log);
  } finally {
    await daemon.stop();
    d.remove();
  }
}

/** (a, b, f) One case through every front end, in process. */
export const frontendsAgree = property<FrontCase>({
  id: 'frontends',
  letter: 'f',
  title: 'eval --batch, eval, qrexec-policy-exec and the daemon give the same answer, exactly once (in process)',
  arb: arbFrontCase,
  testRuns: 25,
  fuzzWeight: 1,
  async: true,
  timeoutMs: 60_000,
  inputs: (f) => f.entries.length + f.c.reqs.length * 3,
  check: checkFrontends,
});

/** Every allow and ask rule of the top-level files with `user=USER` (and nothing else changed). */
function withUser(tree: PolicyTree, user: string): PolicyTree {
  const files = tree.files.map((lines) =>
    lines.map((l) =>
      l.kind === 'rule' && l.rule.action !== 'deny' ? { ...l, rule: { ...l.rule, params: [...l.rule.params.filter((p) => !p.startsWith('user=')), `user=${user}`] } } : l,
    ),
  );
  return { ...tree, files };
}

/** (f) The same with a `user=` that is not printable ASCII, or makes the block longer than the daemon's 4,096 bytes. */
export const frontendsUnsendable = property<FrontCase>({
  id: 'frontends-unsendable',
  letter: 'f',
  title: 'the front ends agree when a user= makes the result block non-ASCII or over 4,096 bytes',
  // an allow for most requests, through a first rule that allows everything between non-dom0 qubes
  arb: fc.tuple(arbCase, fc.constantFrom('\u00fcser', 'u'.repeat(5000))).chain(([c, user]) => {
    const allowAll: PolicyLine = { kind: 'rule', rule: { service: '*', argument: '*', source: '@anyvm', target: '@anyvm', action: 'allow', params: [] }, layout: { sep: ' ', indent: '', trail: '' } };
    return frontCase({ ...c, tree: withUser({ ...c.tree, files: [[allowAll], ...c.tree.files] }, user) }, null, false, 1);
  }),
  testRuns: 5,
  fuzzWeight: 0.1,
  async: true,
  timeoutMs: 60_000,
  inputs: (f) => f.entries.length + f.c.reqs.length * 3,
  check: checkFrontends,
});

/** (b) A system-info file that is not UTF-8 (JSON must be, RFC 8259 §8.1): an error naming that, like a policy file. */
export const systemInfoNotUtf8 = property({
  id: 'system-info-not-utf8',
  letter: 'b',
  title: 'a system-info file with bytes that are not UTF-8 is an error naming that, never read as something else',
  arb: fc.tuple(arbSystem, fc.nat(), fc.constantFrom([0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xc0, 0xaf])),
  testRuns: 5,
  fuzzWeight: 0.05,
  check([sys, at, bad]) {
    const text = Buffer.from(JSON.stringify(sys.json), 'utf8');
    // inside a string (a name, a tag, a label …): the document stays JSON
    const quotes = [...text.entries()].filter(([, b]) => b === 0x22).map(([i]) => i);
    const i = quotes[(at % (quotes.length / 2)) * 2]! + 1;
    const dir = scratchCaseDir();
    const file = path.join(dir, 'si.json');
    fs.writeFileSync(file, Buffer.concat([text.subarray(0, i), Buffer.from(bad), text.subarray(i)]));
    try {
      readSystemInfoFile(file);
    } catch (err) {
      if (!(err instanceof SystemInfoError)) throw err;
      if (!/UTF-8/.test(err.message)) fail('unexplained-deny', `${err.message} does not say the file is not UTF-8`);
      return;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    fail('wrong-allow', `system info with bytes ${JSON.stringify(bad)} in a string at byte ${i} is accepted`);
  },
});

/** `qrexec-policy eval --json …` through the umbrella CLI's entry function, like a user types it. */
function evalThroughCli(dashdash: boolean) {
  return property<Case>({
    id: dashdash ? 'eval-argv-dashdash' : 'eval-argv',
    letter: 'f',
    title: `qrexec-policy eval --json ${dashdash ? '-- SOURCE TARGET SERVICE (after the end-of-options marker)' : 'SOURCE TARGET SERVICE'} answers as eval --batch does`,
    arb: arbCase,
    testRuns: dashdash ? 3 : 8,
    fuzzWeight: 0.03,
    async: true,
    inputs: (c) => c.reqs.length,
    async check(c) {
      const d = writeTree(c.tree, c.sys.json);
      try {
        const batch = path.join(d.root, 'batch.jsonl');
        fs.writeFileSync(batch, c.reqs.map((q) => batchLine(q) + '\n').join(''));
        const reference = (await batchInProcess(d, batch)).lines;
        for (const [i, q] of c.reqs.entries()) {
          const io = captureIo();
          const argv = ['eval', '--json', ...sourceArgv(d), '--log-level', 'error', ...(q.assumeYes ? ['--assume-yes-for-ask'] : []),
            ...(q.requestedSource !== null ? ['--requested-source', q.requestedSource] : []), ...(dashdash ? ['--'] : []), q.source, q.target, q.service];
          const code = await umbrellaMain(argv, io);
          sameText(`qrexec-policy ${argv.map((a) => (a === '' ? "''" : a)).join(' ')}`, reference[i]! + '\n', io.stdout || io.stderr);
          if (code !== evalExit({ bad: null }, JSON.parse(reference[i]!) as DecisionJson)) fail('disagreement', `exit ${code} for ${reference[i]}`);
        }
      } finally {
        d.remove();
      }
    },
  });
}
export const evalArgv = evalThroughCli(false);
export const evalArgvDashdash = evalThroughCli(true);

/** Start the daemon bundle on the tree; resolves once it listens. */
async function startDaemonProcess(d: DiskTree): Promise<{ sock: string; stop(): Promise<{ status: number | null; stderr: string }> }> {
  const sock = path.join(d.root, 'p.sock');
  const child = spawn(
    process.execPath,
    [BIN.daemon, '--socket-path', sock, '--eval-socket-path', '', '--gui-socket-path', '', '--path', d.dirs.policy, '--legacy-path', d.dirs.legacy,
      '--system-info', d.si, '--rpc-dir', path.join(d.root, 'rpc'), '--qrexec-client', path.join(d.root, 'no-qrexec-client'), '--workers', '1', '--log-level', 'error'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env['PATH'] } },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let alive = true;
  void exited.then(() => (alive = false));
  try {
    await waitForSocket(sock, 15_000, () => alive);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    sock,
    stop: async () => {
      child.kill('SIGTERM');
      return { status: await exited, stderr };
    },
  };
}

/** (f) A bounded sample through real processes: the bundles in dist/bin against the in-process batch. */
export const processesAgree = property<FrontCase>({
  id: 'processes',
  letter: 'f',
  title: 'the same through real processes of dist/bin (eval --batch, eval, qrexec-policy-exec, qrexec-policy-daemon)',
  arb: arbFrontCase,
  testRuns: 1,
  fuzzWeight: 0.02,
  fuzzCap: 500,
  async: true,
  timeoutMs: 180_000,
  inputs: (f) => f.entries.length + Math.min(f.c.reqs.length, 4) * 3,
  async check(f) {
    if (!binsBuilt()) fail('crash', 'dist/bin is missing: run `npm run build`');
    const { d, batch } = prepare(f);
    const daemon = await startDaemonProcess(d);
    try {
      const reference = checkBatch(f, d, await batchInProcess(d, batch, f.legacy));
      const src = sourceArgv(d, f.legacy);
      const env = { QREXEC_RPC_DIR: path.join(d.root, 'rpc'), QREXEC_CLIENT: path.join(d.root, 'no-qrexec-client') };
      const proc = await runProcess(BIN.policy, ['eval', '--json', '--batch', '-', ...src, '--log-level', 'error'], { stdin: fs.readFileSync(batch, 'utf8'), env });
      const lines = proc.stdout === '' ? [] : proc.stdout.replace(/\n$/, '').split('\n');
      checkBatch(f, d, { status: proc.status ?? -1, lines });
      const fromProcess = lines.filter((_, i) => f.entries[i]!.kind === 'req');
      reference.forEach((line, i) => sameText(`qrexec-policy eval --batch (process) line for ${JSON.stringify(f.c.reqs[i])}`, line, fromProcess[i]!));
      // a few requests per case through each per-call command
      for (const [i, q] of f.c.reqs.slice(0, 4).entries()) {
        const j = JSON.parse(reference[i]!) as DecisionJson;
        const ev = await runProcess(BIN.policy, ['eval', '--json', ...src, '--log-level', 'error', ...(q.assumeYes ? ['--assume-yes-for-ask'] : []),
          // no `--` before the positionals: eval does not take it (see the regression tests); no value starts with `-`
          ...(q.requestedSource !== null ? ['--requested-source', q.requestedSource] : []), q.source, q.target, q.service], { env });
        sameText(`qrexec-policy eval (process) for ${JSON.stringify(q)}`, reference[i]! + '\n', ev.stdout);
        if (ev.status !== evalExit(f, j)) fail('disagreement', `qrexec-policy eval (process) exits ${ev.status} for ${reference[i]}`);
        const block = expectedBlock(j, f.c.sys.json.domains) + '\n';
        const ex = await runProcess(BIN.exec, execArgv(d, q, [], f.legacy), { env });
        sameText(`qrexec-policy-exec (process) for ${JSON.stringify(q)}`, block, ex.stdout);
        if (ex.status !== (block.includes('result=allow') ? 0 : 1)) fail('disagreement', `qrexec-policy-exec (process) exits ${ex.status} (${ex.stderr})`);
        if (/^\s+at /m.test(ex.stderr + ev.stderr)) fail('crash', `a stack trace on stderr: ${ex.stderr}${ev.stderr}`);
        if (f.legacy) continue;
        const reply = await socketExchange(daemon.sock, [Buffer.from(frameFor(q), 'latin1')], { halfClose: true, timeoutMs: 20_000 });
        if (!reply.closed) fail('hang', `qrexec-policy-daemon (process) did not answer ${JSON.stringify(q)}`);
        sameText(`qrexec-policy-daemon (process) for ${JSON.stringify(q)}`, block, reply.text);
      }
    } finally {
      const end = await daemon.stop();
      d.remove();
      if (end.status !== 0) fail('crash', `qrexec-policy-daemon exited with ${end.status}: ${end.stderr}`);
      if (/internal error|^\s+at /m.test(end.stderr)) fail('crash', `qrexec-policy-daemon: ${end.stderr}`);
    }
  },
});

interface FrameCase {
  c: Case;
  frames: Frame[];
}

/** The request timeout of the fuzzed daemon: a client that never finishes is cut off after it. */
const REQUEST_TIMEOUT_S = 0.3;

/** What the daemon must send for an answerable question (SPEC §3.3, §8). */
function expectedAnswer(c: Case, policy: Policy, q: Question): string {
  const d = evaluate(
    policy,
    c.sys.si,
    { source: q.source, target: q.target, service: q.service, requestedSource: q.requestedSource },
    { assumeYesForAsk: q.assumeYes },
  );
  const j = decisionToJson(d);
  if (q.justEvaluate) return j.result === 'allow' ? 'result=allow\n' : 'result=deny\n';
  return expectedBlock(j, c.sys.json.domains) + '\n';
}

/** Daemon frame fuzzer: random frames, all at once, to a live daemon; then it must still answer. */
export const daemonFrames = property<FrameCase>({
  id: 'daemon-frames',
  letter: 'frames',
  title: 'random frames to a live daemon: each answered as SPEC §8 says, or closed; the daemon lives on',
  arb: arbCase.chain((c) => fc.array(arbFrame, { minLength: 1, maxLength: 12 }).map((frames) => ({ c, frames }))),
  testRuns: 15,
  fuzzWeight: 0.5,
  async: true,
  timeoutMs: 60_000,
  inputs: (x) => x.frames.length + 1,
  async check({ c, frames }) {
    const d = writeTree(c.tree, c.sys.json);
    fs.mkdirSync(path.join(d.root, 'rpc'));
    const daemon = await startDaemon(d, REQUEST_TIMEOUT_S);
    const policy = loadPolicySet({ paths: [d.dirs.policy], legacyPath: d.dirs.legacy });
    try {
      const replies = await Promise.all(
        frames.map((fr) => {
          const cuts = [...new Set(fr.cuts.map((k) => k % (fr.bytes.length + 1)))].sort((a, b) => a - b);
          const chunks = [0, ...cuts].map((from, i, all) => fr.bytes.subarray(from, all[i + 1] ?? fr.bytes.length)).filter((b) => b.length);
          return daemon.exchange(fr.socket, chunks, fr.halfClose);
        }),
      );
      let refused = 0;
      frames.forEach((fr, i) => {
        const reply = replies[i]!;
        const label = `${fr.socket} frame ${JSON.stringify(fr.bytes.toString('latin1').slice(0, 300))} (${fr.what}${fr.halfClose ? '' : ', not half-closed'})`;
        if (!reply.closed) fail('hang', `${label}: the daemon neither answered nor closed`);
        const e = fr.socket === 'policy' ? expectPolicyFrame(fr.bytes, fr.halfClose) : expectServiceFrame(fr.bytes, fr.socket === 'gui', c.sys.json.domains);
        if (e.answer === false) {
          refused++;
          if (reply.text !== '') sameText(`${label} must be closed without an answer (${e.why})`, '', reply.text);
        } else if (e.answer === true || reply.text !== '') sameText(label, expectedAnswer(c, policy, e.q), reply.text);
      });
      // every connection closed without an answer has its log line saying why (SPEC §8)
      const why = daemon.log.lines.filter((l) => /closed without an answer|invoked with incorrect name|requires an argument|sent |can only be invoked by the GUI qube/.test(l));
      if (why.length < refused) fail('unexplained-deny', `${refused} connections closed without an answer, ${why.length} log lines say why:\n${daemon.log.lines.join('\n')}`);
      // still serving
      const q = c.reqs[0]!;
      sameText(`a request after the frames: ${JSON.stringify(q)}`, expectedAnswer(c, policy, { ...q, justEvaluate: false }), await askDaemon(daemon, frameFor(q)));
      noInternalErrors('daemon', daemon.log);
    } finally {
      await daemon.stop();
      d.remove();
    }
  },
});

export const FRONTEND_PROPERTIES: AnyProperty[] = [frontendsAgree, frontendsUnsendable, systemInfoNotUtf8, evalArgv, evalArgvDashdash, processesAgree, daemonFrames];

/**
 * The exec building blocks on their own: the qubesd client, the policy agent
 * client and the log sinks, including their failure paths (timeouts,
 * oversized replies, unwritable log files).
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { qubesdCall, QubesdError } from '../../src/exec/qubesd.js';
import { askUser, notifyUser, AgentError, askIcons, type AgentConfig } from '../../src/exec/agent.js';
import { qrexecClientArgs, runAllowedCall } from '../../src/exec/run-call.js';
import { evaluate } from '../../src/policy/evaluate.js';
import { systemInfoFromJson } from '../../src/policy/system-info.js';
import { fdSink, fileSink, lineLogger, syslogSink, winstonLogger, formatLine, type Level } from '../../src/log.js';
import { startFakeQubesd } from '../helpers/fake-qubesd.js';
import { startFakeAgent } from '../helpers/fake-agent.js';
import { memPolicy } from '../helpers/policy.js';
import type { AskDecision, AllowDecision } from '../../src/policy/decision.js';

const FAKE_CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'fake-qrexec-client.mjs');

/** Wait until `ok()` holds (or 5 s pass): asynchronous side effects under a loaded machine. */
async function until(ok: () => boolean): Promise<void> {
  for (let waited = 0; !ok() && waited < 5000; waited += 20) await new Promise((r) => setTimeout(r, 20));
}

function tmp(t: Tap.Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qpu-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const SI = systemInfoFromJson({
  domains: {
    dom0: { type: 'AdminVM', uuid: '00000000-0000-0000-0000-000000000000', guivm: null },
    work: { type: 'AppVM', uuid: '11111111-1111-4111-8111-111111111111', guivm: 'dom0', icon: 'appvm-blue', power_state: 'Running' },
    dvm: { type: 'AppVM', uuid: '22222222-2222-4222-8222-222222222222', template_for_dispvms: true, icon: 'appvm-green' },
    'sys-relay': { type: 'AppVM', uuid: '33333333-3333-4333-8333-333333333333', power_state: 'Halted' },
    remote: { type: 'RemoteVM', uuid: '44444444-4444-4444-8444-444444444444', relayvm: 'sys-relay', transport_rpc: 'qubesair.SSHProxy', power_state: 'Running' },
  },
});

t.test('qubesd client', async (t) => {
  const dir = tmp(t);
  const q = await startFakeQubesd(dir, 'q.sock', (req) => {
    if (req.method === 'big') return { ok: 'x'.repeat(5000) };
    if (req.method === 'bare') return { raw: '2\0BareException' };
    return { ok: `${req.method}|${req.arg}|${req.payload}` };
  });
  t.teardown(() => q.close());
  const ok = await qubesdCall({ socket: q.socket, method: 'm', arg: 'a', dest: 'dom0', payload: Buffer.from('p') });
  t.equal(ok.toString(), 'm|a|p', 'default timeout, buffer payload');
  await t.rejects(qubesdCall({ socket: q.socket, method: 'big', dest: 'dom0', maxReply: 1000 }), {
    message: 'qubesd reply to big is too large',
  });
  const bare = await qubesdCall({ socket: q.socket, method: 'bare', dest: 'dom0' }).catch((e: unknown) => e);
  t.ok(bare instanceof QubesdError && bare.excType === 'BareException', 'exception type without trailing fields');
  t.same(q.calls.map((c) => [c.method, c.source, c.destType, c.dest]), [
    ['m', 'dom0', 'name', 'dom0'],
    ['big', 'dom0', 'name', 'dom0'],
    ['bare', 'dom0', 'name', 'dom0'],
  ]);
});

function agentConfig(rpcDir: string, over: Partial<AgentConfig> = {}): AgentConfig {
  return { rpcDir, qrexecClient: FAKE_CLIENT, askTimeoutMs: 0, notifyTimeoutMs: 5000, ...over };
}

function askFor(target: string): AskDecision {
  const d = evaluate(memPolicy({ '50-a.policy': 'svc * work @anyvm ask\n' }), SI, { source: 'work', target, service: 'svc' });
  if (d.result !== 'ask') throw new Error('expected ask');
  return d;
}

t.test('policy agent client', async (t) => {
  const dir = tmp(t);
  t.test('a local agent that never answers times out', async (t) => {
    const a = await startFakeAgent(dir, { ask: 'hang' });
    t.teardown(() => a.close());
    await t.rejects(askUser('dom0', askFor('dvm'), SI, agentConfig(dir, { askTimeoutMs: 200 })), {
      message: 'policy.Ask: no answer within 200 ms',
    });
  });
  t.test('an oversized answer is refused', async (t) => {
    const d2 = path.join(dir, 'big');
    fs.mkdirSync(d2);
    const a = await startFakeAgent(d2, { ask: 'allow:' + 'x'.repeat(70000) });
    t.teardown(() => a.close());
    await t.rejects(askUser('dom0', askFor('dvm'), SI, agentConfig(d2)), { message: 'policy.Ask: reply too large' });
  });
  t.test('a remote agent: timeout, failure, success', async (t) => {
    process.env['FAKE_QREXEC_LOG'] = path.join(dir, 'client.log');
    process.env['FAKE_QREXEC_ASK_REPLY'] = 'allow:dvm';
    process.env['FAKE_QREXEC_SLEEP_MS'] = '3000';
    const slow = await askUser('sys-gui', askFor('dvm'), SI, agentConfig(dir, { askTimeoutMs: 300 })).catch((e: unknown) => e);
    t.ok(slow instanceof AgentError && /no answer within 300 ms/.test(slow.message), 'timed out');
    process.env['FAKE_QREXEC_SLEEP_MS'] = '0';
    process.env['FAKE_QREXEC_EXIT'] = '3';
    await t.rejects(notifyUser('sys-gui', { resolution: 'deny', service: 's', argument: '+', source: 'work', target: 'x' }, agentConfig(dir)), {
      message: 'policy.Notify in sys-gui: qrexec-client exited with status 3',
    });
    process.env['FAKE_QREXEC_EXIT'] = '0';
    t.same(await askUser('sys-gui', askFor('dvm'), SI, agentConfig(dir)), { kind: 'allow', target: 'dvm' });
    process.env['FAKE_QREXEC_ASK_REPLY'] = 'allow:' + 'x'.repeat(70000);
    await t.rejects(askUser('sys-gui', askFor('dvm'), SI, agentConfig(dir)), { message: 'policy.Ask: reply too large' });
    await t.rejects(askUser('sys-gui', askFor('dvm'), SI, agentConfig(dir, { qrexecClient: path.join(dir, 'missing') })), {
      message: /policy\.Ask via .*missing: does not exist/,
    });
    // a GuiVM name spawn refuses (system info is free text): an AgentError like any other failure
    const refused = await notifyUser('sys\0gui', { resolution: 'deny', service: 's', argument: '+', source: 'work', target: 'x' }, agentConfig(dir)).catch((e: unknown) => e);
    t.ok(refused instanceof AgentError, 'an AgentError');
    t.match((refused as Error).message, /^policy\.Notify in "sys\\u0000gui": cannot run .*: ERR_INVALID_ARG_VALUE$/);
  });
  t.test('icons', async (t) => {
    t.same(askIcons(SI), {
      dom0: '',
      work: 'appvm-blue',
      dvm: 'appvm-green',
      'sys-relay': '',
      remote: '',
      '@dispvm:dvm': 'dispvm-green',
    });
  });
});

t.test('a RemoteVM call goes to its relay with the transport service', async (t) => {
  const dir = tmp(t);
  const q = await startFakeQubesd(dir, 'q.sock', () => ({ ok: '' }));
  t.teardown(() => q.close());
  const d = evaluate(memPolicy({ '50-a.policy': 'svc * work remote allow\n' }), SI, { source: 'work', target: 'remote', service: 'svc+x' });
  t.equal(d.result, 'allow');
  const allow = d as AllowDecision;
  const call = { domainId: '5', processIdent: 'P', source: 'work', serviceArg: 'svc+x' };
  t.same(qrexecClientArgs(allow, call, null), [
    '-Ed',
    'uuid:33333333-3333-4333-8333-333333333333',
    '-c',
    'P,work,5',
    '--',
    'DEFAULT:QUBESRPC qubesair.SSHProxy+remote+svc+x work',
  ]);
  process.env['FAKE_QREXEC_LOG'] = path.join(dir, 'client.log');
  process.env['FAKE_QREXEC_EXIT'] = '0';
  const lines: string[] = [];
  const status = await runAllowedCall(
    allow,
    call,
    { ...agentConfig(dir), qubesdSocket: q.socket, qubesdTimeoutMs: 5000 },
    lineLogger('debug', [(_l, line) => lines.push(line)]),
  );
  t.equal(status, 0);
  t.same(q.calls.map((c) => [c.method, c.dest]), [['admin.vm.Start', 'uuid:33333333-3333-4333-8333-333333333333']], 'the relay is started');
  t.match(lines.join('\n'), /running .*fake-qrexec-client/);
});

t.test('log sinks', async (t) => {
  const dir = tmp(t);
  const file = path.join(dir, 'log.txt');
  const lines: string[] = [];
  const capture = (_l: Level, line: string) => lines.push(line);
  const log = lineLogger('info', [fileSink(file), capture]);
  log.log('info', 'qrexec: a\nb');
  log.log('debug', 'not shown');
  t.match(fs.readFileSync(file, 'utf8'), /^\d{4}-\d\d-\d\dT[^ ]+ qrexec: a b\n$/);
  t.same(lines, ['qrexec: a b']);
  t.equal(formatLine('warn', 'x'), 'warning: x');
  t.equal(formatLine('error', 'x'), 'error: x');
  t.ok(log.enabled('info') && !log.enabled('debug'));

  // an unwritable file and an unrunnable logger fall back to stderr
  const written: string[] = [];
  const origWrite = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => (written.push(String(s)), true)) as typeof process.stderr.write;
  try {
    fileSink(path.join(dir, 'no', 'such', 'dir.log'))('error', 'error: lost?');
    syslogSink('tag', 'bad\0binary')('error', 'error: to syslog');
    syslogSink('tag', path.join(dir, 'missing-logger'))('warn', 'warning: async fallback');
    await until(() => written.length >= 3);
  } finally {
    process.stderr.write = origWrite;
  }
  t.same(written, ['error: lost?\n', 'error: to syslog\n', 'warning: async fallback\n']);
});

t.test('a descriptor sink writes whole lines, and loses a line it cannot write without failing the call', async (t) => {
  const dir = tmp(t);
  const file = path.join(dir, 'fd.txt');
  const fd = fs.openSync(file, 'w');
  const full = fs.openSync('/dev/full', 'w');
  t.teardown(() => [fd, full].forEach((d) => fs.closeSync(d)));
  const noStream = () => {
    throw new Error('the stream is only for a full non-blocking descriptor');
  };
  const long = 'x'.repeat(100_000);
  lineLogger('info', [fdSink(fd, noStream)]).log('info', `qrexec: ${long}`);
  t.equal(fs.readFileSync(file, 'utf8'), `qrexec: ${long}\n`);
  t.doesNotThrow(() => fdSink(full, noStream)('info', 'qrexec: lost'), 'a full disk loses the line');
});

t.test('winston logger', async (t) => {
  const dir = tmp(t);
  const file = path.join(dir, 'w.log');
  const log = await winstonLogger('warn', { file });
  t.equal(log.level, 'warn');
  t.ok(log.enabled('error') && !log.enabled('info'));
  log.log('warn', 'through winston');
  log.log('info', 'filtered');
  await until(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8') !== '');
  t.equal(fs.readFileSync(file, 'utf8'), 'warning: through winston\n');
  const console = await winstonLogger();
  t.equal(console.level, 'info');
});

/**
 * The daemon's `--log-level debug` timing line (exec/timing.ts), through its
 * decide path in process: one line per answered request, its stages adding
 * up to the answer's wall time; a policy still loading is counted as
 * load-policy; no line (and no extra work) below debug.
 */
import t from 'tap';
import { answer, type Services } from '../../src/daemon/decide.js';
import { loadPolicySet } from '../../src/policy/policy.js';
import { systemInfoFromJson } from '../../src/policy/system-info.js';
import { captureLog, SYSTEM_INFO } from './fixtures/daemon.js';

const STAGES = ['system-info', 'load-policy', 'evaluate', 'ask', 'notify', 'start-target', 'qrexec-client', 'other'];

function services(level: 'debug' | 'info', policyDelayMs = 0) {
  const dir = t.testdir({ '30-test.policy': 'qubes.Filecopy * work personal allow\n' });
  const policy = loadPolicySet({ paths: [dir] });
  const cap = captureLog(level);
  const svc: Services = {
    policy: { get: () => (policyDelayMs ? new Promise((r) => setTimeout(() => r(policy), policyDelayMs)) : policy), peek: () => (policyDelayMs ? null : policy), invalidate() {}, close() {} },
    systemInfo: { get: () => systemInfoFromJson(SYSTEM_INFO), peek: () => null, invalidate() {}, close() {} },
    agent: { rpcDir: dir, qrexecClient: '/nonexistent', askTimeoutMs: 0, notifyTimeoutMs: 100 },
    log: cap.log,
  };
  return { svc, cap };
}

const question = { source: 'work', target: 'personal', serviceAndArg: 'qubes.Filecopy', requestedSource: null, assumeYesForAsk: false, justEvaluate: false };

t.test('one timing line per answer, adding up to its wall time', async (t) => {
  const { svc, cap } = services('debug', 25);
  const started = performance.now();
  const text = await answer(svc, question);
  const wall = performance.now() - started;
  t.match(text, /^user=DEFAULT\nresult=allow\ntarget=personal\n/);
  const lines = cap.matching(/timing:/);
  t.equal(lines.length, 1);
  t.match(lines[0], /^debug: timing: qubes\.Filecopy: work -> personal: system-info /);
  const ms = Object.fromEntries([...lines[0]!.matchAll(/([a-z-]+) ([0-9.]+) ms/g)].map((m) => [m[1]!, Number(m[2])]));
  t.same(Object.keys(ms), [...STAGES, 'total']);
  const sum = STAGES.reduce((a, s) => a + ms[s]!, 0);
  t.ok(Math.abs(sum - ms['total']!) < 0.05, 'the stages add up to the total');
  t.ok(Math.abs(ms['total']! - wall) <= 0.1 * wall, `total ${ms['total']} ms is the wall time ${wall.toFixed(2)} ms within 10 %`);
  t.ok(ms['load-policy']! >= 20, 'a policy still loading is load-policy time');
  t.same([ms['start-target'], ms['qrexec-client']], [0, 0], 'qrexec-daemon starts the target and runs qrexec-client');
});

t.test('no timing line below debug, and the answer is at once when nothing is loading', async (t) => {
  const { svc, cap } = services('info');
  const text = answer(svc, question);
  t.type(text, 'string', 'answered synchronously');
  t.same(cap.matching(/timing:/), []);
  t.same(cap.matching(/^qrexec: /), ['qrexec: qubes.Filecopy: work -> personal: allowed to personal']);
});

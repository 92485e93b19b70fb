/**
 * The five-argument `qrexec-policy-exec` (and its three-argument ask/notify
 * behaviour) against a fake qubesd on a real unix socket, a fake policy agent
 * socket service, and a fake qrexec-client executable that records its argv.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execMain } from '../../src/cli/exec-main.js';
import { stderrLogger } from '../../src/log.js';
import { startFakeQubesd, type QubesdHandler, type FakeQubesd } from '../helpers/fake-qubesd.js';
import { startFakeAgent, type FakeAgent } from '../helpers/fake-agent.js';

const FAKE_CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'fake-qrexec-client.mjs');

const U = {
  work: '11111111-1111-4111-8111-111111111111',
  personal: '22222222-2222-4222-8222-222222222222',
  vault: '33333333-3333-4333-8333-333333333333',
  dvm: '44444444-4444-4444-8444-444444444444',
  net: '55555555-5555-4555-8555-555555555555',
  gui: '66666666-6666-4666-8666-666666666666',
  untrusted: '77777777-7777-4777-8777-777777777777',
  evil: '88888888-8888-4888-8888-888888888888',
};

const SYSTEM = {
  domains: {
    dom0: { type: 'AdminVM', uuid: '00000000-0000-0000-0000-000000000000', power_state: 'Running', guivm: null, icon: 'adminvm-black' },
    work: { type: 'AppVM', uuid: U.work, power_state: 'Running', guivm: 'dom0', default_dispvm: 'default-dvm', icon: 'appvm-blue' },
    personal: { type: 'AppVM', uuid: U.personal, power_state: 'Halted', guivm: 'dom0', icon: 'appvm-yellow' },
    vault: { type: 'AppVM', uuid: U.vault, power_state: 'Halted', guivm: 'dom0', icon: 'appvm-black' },
    'default-dvm': { type: 'AppVM', uuid: U.dvm, template_for_dispvms: true, guivm: 'dom0', icon: 'appvm-red' },
    'sys-net': { type: 'AppVM', uuid: U.net, power_state: 'Running', guivm: 'dom0', icon: 'servicevm-red' },
    'sys-gui': { type: 'AppVM', uuid: U.gui, power_state: 'Running', guivm: null, icon: 'servicevm-purple' },
    untrusted: { type: 'AppVM', uuid: U.untrusted, power_state: 'Running', guivm: 'sys-gui', icon: 'appvm-red' },
    'x$(id)|y': { type: 'AppVM', uuid: U.evil, power_state: 'Running', guivm: null, icon: 'appvm-red' },
    lonely: { type: 'AppVM', power_state: 'Running', guivm: null },
  },
};

const POLICY = `
qubes.Filecopy * work personal allow
qubes.Filecopy * work vault allow user=root
test.Dom0 * work @adminvm allow
test.Dom0 * work @default allow target=dom0
test.Disp * work @dispvm allow
test.Disp * work @dispvm:default-dvm allow user=user
test.NoStart * work vault allow autostart=no
test.NoStart * work sys-net allow autostart=no
test.Ask * work @anyvm ask default_target=personal
test.Ask * untrusted @anyvm ask
test.Ask * sys-gui @anyvm ask
test.Notify * work personal allow notify=yes
test.Notify * work @anyvm deny notify=yes
test.Quiet * work @anyvm deny notify=no
test.Evil * x$(id)|y work allow
`;

interface Harness {
  dir: string;
  qubesd: FakeQubesd;
  internal: FakeQubesd;
  agent: FakeAgent | null;
  clientLog: string;
  run(args: string[], opts?: { env?: Record<string, string> }): Promise<{ status: number; stdout: string; log: string }>;
  clientCalls(): { argv: string[]; stdin: string | null }[];
}

interface HarnessOptions {
  qubesd?: QubesdHandler;
  agent?: { ask?: string | null; notify?: string } | null;
  policy?: string;
}

let dispCounter = 0;
const defaultQubesd: QubesdHandler = (req) => {
  if (req.method === 'admin.vm.CreateDisposable') return { ok: `uuid:dddddddd-0000-4000-8000-00000000000${++dispCounter}` };
  if (req.method === 'admin.vm.Start') return { ok: '' };
  return { exception: 'QubesException' };
};

async function harness(t: Tap.Test, opts: HarnessOptions = {}): Promise<Harness> {
  // unix socket paths must stay short (108 bytes), so not under the test fixture dir
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qpx-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'policy.d'));
  fs.mkdirSync(path.join(dir, 'rpc'));
  fs.writeFileSync(path.join(dir, 'policy.d', '50-test.policy'), opts.policy ?? POLICY);
  const qubesd = await startFakeQubesd(dir, 'qubesd.sock', opts.qubesd ?? defaultQubesd);
  const internal = await startFakeQubesd(dir, 'qubesd.internal.sock', (req) =>
    req.method === 'internal.GetSystemInfo' ? { ok: JSON.stringify(SYSTEM) } : { exception: 'QubesException' },
  );
  const agent = opts.agent === null ? null : await startFakeAgent(path.join(dir, 'rpc'), opts.agent ?? { ask: 'deny' });
  t.teardown(async () => {
    await qubesd.close();
    await internal.close();
    await agent?.close();
  });
  const clientLog = path.join(dir, 'client.log');
  return {
    dir,
    qubesd,
    internal,
    agent,
    clientLog,
    async run(args, o = {}) {
      let stdout = '';
      let log = '';
      const env = {
        QREXEC_CLIENT: FAKE_CLIENT,
        QUBESD_SOCKET: qubesd.socket,
        QUBESD_INTERNAL_SOCKET: internal.socket,
        QREXEC_RPC_DIR: path.join(dir, 'rpc'),
        ...o.env,
      };
      // the fake qrexec-client is a real child process: it reads these from its environment
      process.env['FAKE_QREXEC_LOG'] = clientLog;
      process.env['FAKE_QREXEC_EXIT'] = o.env?.['FAKE_QREXEC_EXIT'] ?? '0';
      process.env['FAKE_QREXEC_ASK_REPLY'] = o.env?.['FAKE_QREXEC_ASK_REPLY'] ?? 'deny';
      const status = await execMain(['--path', path.join(dir, 'policy.d'), ...args], {
        stdout: (s) => void (stdout += s),
        stderr: (s) => void (log += s),
        log: stderrLogger('debug', (s) => void (log += s)),
        env,
      });
      return { status, stdout, log };
    },
    clientCalls() {
      if (!fs.existsSync(clientLog)) return [];
      return fs
        .readFileSync(clientLog, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    },
  };
}

const CALL = ['7', 'work'];
const IDENT = 'SOCKET42';

t.test('allow to a qube: Start by uuid, then qrexec-client -Ed uuid:…', async (t) => {
  const h = await harness(t);
  const r = await h.run([...CALL, 'personal', 'qubes.Filecopy', IDENT]);
  t.equal(r.status, 0);
  t.equal(r.stdout, '', 'the five-argument form prints nothing on stdout');
  t.same(
    h.qubesd.calls.map((c) => [c.method, c.arg, c.source, c.destType, c.dest, c.payload]),
    [['admin.vm.Start', '', 'dom0', 'name', `uuid:${U.personal}`, '']],
  );
  t.same(h.internal.calls.map((c) => c.method), ['internal.GetSystemInfo'], 'system info came from qubesd');
  t.same(h.clientCalls().map((c) => c.argv), [
    ['-Ed', `uuid:${U.personal}`, '-c', `${IDENT},work,7`, '--', 'DEFAULT:QUBESRPC qubes.Filecopy work'],
  ]);
  t.match(r.log, /qrexec: qubes\.Filecopy: work -> personal: allowed to personal/);
});

t.test('user= reaches the QUBESRPC command', async (t) => {
  const h = await harness(t);
  const r = await h.run([...CALL, 'vault', 'qubes.Filecopy+arg', IDENT]);
  t.equal(r.status, 0);
  t.same(h.clientCalls()[0]!.argv.at(-1), 'root:QUBESRPC qubes.Filecopy+arg work');
});

t.test('allow to dom0, named and as a keyword', async (t) => {
  const h = await harness(t);
  t.equal((await h.run([...CALL, 'dom0', 'test.Dom0', IDENT])).status, 0);
  t.equal((await h.run([...CALL, '@adminvm', 'test.Dom0', IDENT])).status, 0);
  t.equal((await h.run([...CALL, '', 'test.Dom0+x', IDENT])).status, 0);
  t.same(h.qubesd.calls, [], 'dom0 is never started');
  t.same(h.clientCalls().map((c) => c.argv), [
    ['-Ed', 'dom0', '-c', `${IDENT},work,7`, '--', 'QUBESRPC test.Dom0 work name dom0'],
    ['-Ed', 'dom0', '-c', `${IDENT},work,7`, '--', 'QUBESRPC test.Dom0 work keyword adminvm'],
    ['-Ed', 'dom0', '-c', `${IDENT},work,7`, '--', 'QUBESRPC test.Dom0+x work keyword default'],
  ]);
});

t.test('allow to @dispvm and @dispvm:X: CreateDisposable, Start, then -EWkd', async (t) => {
  const h = await harness(t);
  dispCounter = 0;
  t.equal((await h.run([...CALL, '@dispvm', 'test.Disp', IDENT])).status, 0);
  t.equal((await h.run([...CALL, '@dispvm:default-dvm', 'test.Disp', IDENT])).status, 0);
  t.same(
    h.qubesd.calls.map((c) => [c.method, c.dest, c.payload]),
    [
      ['admin.vm.CreateDisposable', `@dispvm:uuid:${U.dvm}`, 'uuid'],
      ['admin.vm.Start', 'uuid:dddddddd-0000-4000-8000-000000000001', ''],
      ['admin.vm.CreateDisposable', `@dispvm:uuid:${U.dvm}`, 'uuid'],
      ['admin.vm.Start', 'uuid:dddddddd-0000-4000-8000-000000000002', ''],
    ],
  );
  t.same(h.clientCalls().map((c) => c.argv), [
    ['-EWkd', 'uuid:dddddddd-0000-4000-8000-000000000001', '-c', `${IDENT},work,7`, '--', 'DEFAULT:QUBESRPC test.Disp work'],
    ['-EWkd', 'uuid:dddddddd-0000-4000-8000-000000000002', '-c', `${IDENT},work,7`, '--', 'user:QUBESRPC test.Disp work'],
  ]);
});

t.test('a garbled disposable name from qubesd is not used', async (t) => {
  const h = await harness(t, { qubesd: (req) => (req.method === 'admin.vm.CreateDisposable' ? { ok: 'disp 1; rm -rf /' } : { ok: '' }) });
  const r = await h.run([...CALL, '@dispvm', 'test.Disp', IDENT]);
  t.equal(r.status, 1);
  t.same(h.clientCalls(), []);
  t.match(r.log, /unusable disposable name/);
});

t.test('autostart=no: a halted target is denied without touching qubesd; a running one is not started', async (t) => {
  const h = await harness(t);
  const r = await h.run([...CALL, 'vault', 'test.NoStart', IDENT]);
  t.equal(r.status, 1);
  t.match(r.log, /denied: target vault is denied because it would require autostart/);
  const r2 = await h.run([...CALL, 'sys-net', 'test.NoStart', IDENT]);
  t.equal(r2.status, 0);
  t.same(h.qubesd.calls, [], 'no Start for autostart=no');
  t.same(h.clientCalls().map((c) => c.argv[1]), [`uuid:${U.net}`]);
});

t.test('"already running" from qubesd counts as started', async (t) => {
  const h = await harness(t, { qubesd: () => ({ exception: 'QubesVMNotHaltedError' }) });
  const r = await h.run([...CALL, 'personal', 'qubes.Filecopy', IDENT]);
  t.equal(r.status, 0);
  t.equal(h.clientCalls().length, 1);
});

t.test('qubesd refusing, garbled, down or slow: non-zero, logged, no qrexec-client', async (t) => {
  const cases: [string, HarnessOptions['qubesd'] | 'down', RegExp][] = [
    ['exception', () => ({ exception: 'QubesVMError' }), /cannot start the target: qubesd refused admin\.vm\.Start: QubesVMError/],
    ['garbled', () => ({ raw: 'hello' }), /invalid qubesd response/],
    ['hangs', () => 'hang', /did not answer admin\.vm\.Start within 300 ms/],
    ['down', 'down', /cannot talk to qubesd/],
  ];
  for (const [name, handler, expect] of cases) {
    await t.test(name, async (t) => {
      const h = await harness(t, handler === 'down' ? {} : { qubesd: handler });
      if (handler === 'down') await h.qubesd.close();
      // only the hanging qubesd needs the short limit; the others answer at once
      const limit = name === 'hangs' ? '0.3' : '30';
      const r = await h.run(['--qubesd-timeout', limit, ...CALL, 'personal', 'qubes.Filecopy', IDENT]);
      t.equal(r.status, 1);
      t.match(r.log, expect);
      t.same(h.clientCalls(), []);
    });
  }
});

t.test('qubesd down when fetching system info: deny', async (t) => {
  const h = await harness(t);
  await h.internal.close();
  const r5 = await h.run([...CALL, 'personal', 'qubes.Filecopy', IDENT]);
  t.equal(r5.status, 1);
  t.match(r5.log, /no system info: give --system-info FILE or run in dom0 \(cannot talk to qubesd/);
  const r3 = await h.run(['work', 'personal', 'qubes.Filecopy']);
  t.equal(r3.stdout, 'result=deny\n');
  t.equal(r3.status, 1);
});

t.test("qrexec-client's exit status is the result; a missing binary fails", async (t) => {
  const h = await harness(t);
  const r = await h.run([...CALL, 'personal', 'qubes.Filecopy', IDENT], { env: { FAKE_QREXEC_EXIT: '5' } });
  t.equal(r.status, 5);
  const r2 = await h.run([...CALL, 'personal', 'qubes.Filecopy', IDENT], { env: { QREXEC_CLIENT: path.join(h.dir, 'nope') } });
  t.equal(r2.status, 1);
  t.match(r2.log, /cannot run .*nope: does not exist/);
});

t.test('names with shell metacharacters reach argv verbatim', async (t) => {
  const h = await harness(t);
  const r = await h.run(['3', 'x$(id)|y', 'work', 'test.Evil', 'ident;rm -rf /']);
  t.equal(r.status, 0);
  t.same(h.clientCalls().map((c) => c.argv), [
    ['-Ed', `uuid:${U.work}`, '-c', 'ident;rm -rf /,x$(id)|y,3', '--', 'DEFAULT:QUBESRPC test.Evil x$(id)|y'],
  ]);
});

t.test('denied calls run nothing', async (t) => {
  const h = await harness(t);
  const r = await h.run([...CALL, 'sys-net', 'qubes.Filecopy', IDENT]);
  t.equal(r.status, 1);
  t.same(h.qubesd.calls, []);
  t.same(h.clientCalls(), []);
  t.match(r.log, /denied: no matching rule found/);
});

t.test('ask in dom0: the agent socket gets the question with icons', async (t) => {
  const h = await harness(t, { agent: { ask: 'allow:personal' } });
  const r = await h.run([...CALL, '', 'test.Ask', IDENT]);
  t.equal(r.status, 0);
  const ask = h.agent!.calls.find((c) => c.service === 'policy.Ask')!;
  t.equal(ask.header, 'policy.Ask dom0 name dom0');
  t.same(Object.keys(ask.params), ['source', 'service', 'argument', 'targets', 'default_target', 'icons']);
  t.equal(ask.params['source'], 'work');
  t.equal(ask.params['service'], 'test.Ask');
  t.equal(ask.params['argument'], '+');
  t.equal(ask.params['default_target'], 'personal');
  t.ok((ask.params['targets'] as string[]).includes('@dispvm:default-dvm'));
  t.ok(!(ask.params['targets'] as string[]).includes('work'), 'the caller is not offered');
  const icons = ask.params['icons'] as Record<string, string>;
  t.equal(icons['personal'], 'appvm-yellow');
  t.equal(icons['@dispvm:default-dvm'], 'dispvm-red', 'disposable icons use disp for app');
  t.same(h.clientCalls().map((c) => c.argv.slice(0, 2)), [['-Ed', `uuid:${U.personal}`]]);
});

t.test('ask answered deny, with a target not offered, with garbage, or not at all', async (t) => {
  for (const [reply, expect] of [
    ['deny', /denied: denied by the user/],
    ['allow:work', /denied: target work is not a valid choice/],
    ['allow:@adminvm', /not a valid choice/],
    ['yes please', /invalid ask response/],
    [null, /denied: invalid response from the policy agent/],
  ] as const) {
    await t.test(String(reply), async (t) => {
      const h = await harness(t, { agent: { ask: reply } });
      const r = await h.run([...CALL, 'personal', 'test.Ask', IDENT]);
      t.equal(r.status, 1);
      t.match(r.log, expect);
      t.same(h.clientCalls(), []);
    });
  }
});

t.test('ask with the agent down is denied', async (t) => {
  const h = await harness(t, { agent: null });
  const r = await h.run([...CALL, 'personal', 'test.Ask', IDENT]);
  t.equal(r.status, 1);
  t.match(r.log, /cannot ask the policy agent in dom0/);
});

t.test('ask for a source without a GuiVM is denied', async (t) => {
  const h = await harness(t, { agent: { ask: 'allow:personal' } });
  const r = await h.run(['3', 'sys-gui', 'personal', 'test.Ask', IDENT]);
  t.equal(r.status, 1);
  t.match(r.log, /has no GuiVM/);
  t.same(h.agent!.calls, []);
});

t.test('ask in another GuiVM goes through qrexec-client with the JSON on stdin', async (t) => {
  const h = await harness(t);
  const r = await h.run(['3', 'untrusted', 'personal', 'test.Ask', IDENT], { env: { FAKE_QREXEC_ASK_REPLY: 'allow:personal' } });
  t.equal(r.status, 0);
  const [ask, call] = h.clientCalls();
  t.same(ask!.argv, ['-d', 'sys-gui', '--', 'DEFAULT:QUBESRPC policy.Ask dom0']);
  t.equal(JSON.parse(ask!.stdin!).source, 'untrusted');
  t.same(call!.argv.slice(0, 2), ['-Ed', `uuid:${U.personal}`]);
});

t.test('three arguments: ask answered by the user, result block printed', async (t) => {
  const h = await harness(t, { agent: { ask: 'allow:personal' } });
  const r = await h.run(['work', '', 'test.Ask']);
  t.equal(r.status, 0);
  t.equal(
    r.stdout,
    `user=DEFAULT\nresult=allow\ntarget=personal\ntarget_uuid=uuid:${U.personal}\nautostart=True\nrequested_target=@default\n`,
  );
  t.same(h.clientCalls(), [], 'three arguments never run the call');
});

t.test('--just-evaluate and --assume-yes-for-ask never ask', async (t) => {
  const h = await harness(t, { agent: { ask: 'allow:personal' } });
  t.equal((await h.run(['--just-evaluate', 'work', 'personal', 'test.Ask'])).status, 1);
  const r = await h.run(['--assume-yes-for-ask', ...CALL, 'personal', 'test.Ask', IDENT]);
  t.equal(r.status, 0);
  t.same(h.agent!.calls, []);
  t.equal(h.clientCalls().length, 1);
});

t.test('notify: on allow with notify=yes and on deny with notify, never with notify=no', async (t) => {
  const h = await harness(t, { agent: { notify: '' } });
  t.equal((await h.run([...CALL, 'personal', 'test.Notify', IDENT])).status, 0);
  t.equal((await h.run([...CALL, 'vault', 'test.Notify', IDENT])).status, 1);
  t.equal((await h.run([...CALL, 'vault', 'test.Quiet', IDENT])).status, 1);
  t.equal((await h.run(['--just-evaluate', ...CALL, 'vault', 'test.Notify', IDENT])).status, 1);
  const notes = h.agent!.calls.filter((c) => c.service === 'policy.Notify');
  t.same(
    notes.map((n) => n.params),
    [
      { resolution: 'allow', service: 'test.Notify', argument: '+', source: 'work', target: 'personal' },
      { resolution: 'deny', service: 'test.Notify', argument: '+', source: 'work', target: 'vault' },
    ],
  );
  t.equal(notes[0]!.header, 'policy.Notify dom0 name dom0');
});

t.test('a dead agent never changes the result of a notified call', async (t) => {
  const h = await harness(t, { agent: null });
  const r = await h.run([...CALL, 'personal', 'test.Notify', IDENT]);
  t.equal(r.status, 0);
  t.match(r.log, /error calling qrexec-policy-agent in dom0/);
  t.equal(h.clientCalls().length, 1);
});

t.test('a target without a uuid in system info is denied (its block cannot be written)', async (t) => {
  const h = await harness(t, { policy: 'test.X * work lonely allow\n' });
  const r = await h.run([...CALL, 'lonely', 'test.X', IDENT]);
  t.equal(r.status, 1);
  t.match(r.log, /no uuid for lonely/);
});

t.test('options and environment choose the external paths', async (t) => {
  const h = await harness(t);
  const r = await h.run(
    ['--qrexec-client', FAKE_CLIENT, '--qubesd-socket', h.qubesd.socket, ...CALL, 'personal', 'qubes.Filecopy', IDENT],
    { env: { QREXEC_CLIENT: '/nonexistent', QUBESD_SOCKET: '/nonexistent' } },
  );
  t.equal(r.status, 0, 'options win over the environment');
  const bad = await h.run(['--qubesd-timeout', 'soon', ...CALL, 'personal', 'qubes.Filecopy', IDENT]);
  t.equal(bad.status, 2);
});

/** `timing: …` parsed: each stage's milliseconds, `other` and `total`. */
function timingLine(log: string): Record<string, number> {
  const line = log.split('\n').find((l) => l.startsWith('debug: timing: '));
  if (line === undefined) throw new Error(`no timing line in ${JSON.stringify(log)}`);
  return Object.fromEntries([...line.matchAll(/([a-z-]+) ([0-9.]+) ms/g)].map((m) => [m[1]!, Number(m[2])]));
}

t.test('--log-level debug: one timing line per call, its stages adding up to the call\'s wall time', async (t) => {
  const h = await harness(t, { agent: { ask: 'allow:personal' } });
  const stages = ['system-info', 'load-policy', 'evaluate', 'ask', 'notify', 'start-target', 'qrexec-client', 'other'];
  // an ask answered, a halted target started, qrexec-client run: every stage has something to do
  const started = performance.now();
  const r = await h.run([...CALL, '', 'test.Ask', IDENT], { env: { FAKE_QREXEC_SLEEP_MS: '30' } });
  const wall = performance.now() - started;
  t.equal(r.status, 0);
  t.equal(r.log.split('\n').filter((l) => l.includes('timing:')).length, 1, 'one line');
  t.match(r.log, 'debug: timing: test.Ask: work -> @default: system-info ');
  const ms = timingLine(r.log);
  t.same(Object.keys(ms), [...stages, 'total']);
  const sum = stages.reduce((a, s) => a + ms[s]!, 0);
  t.ok(Math.abs(sum - ms['total']!) < 0.05, `the stages add up to the total (${sum.toFixed(2)} vs ${ms['total']})`);
  t.ok(Math.abs(ms['total']! - wall) <= 0.1 * wall, `total ${ms['total']} ms is the wall time ${wall.toFixed(2)} ms within 10 %`);
  for (const s of ['system-info', 'ask', 'start-target']) t.ok(ms[s]! > 0, `${s} took time`);
  t.ok(ms['qrexec-client']! >= 30, 'qrexec-client ran (it sleeps 30 ms)');

  // three arguments: nothing is asked, started or run
  const three = await h.run(['work', 'personal', 'qubes.Filecopy']);
  t.equal(three.status, 0);
  const m3 = timingLine(three.log);
  t.same([m3['ask'], m3['start-target'], m3['qrexec-client']], [0, 0, 0]);
  t.ok(m3['load-policy']! > 0 && m3['evaluate']! > 0);
  // and none without debug
  const lines: string[] = [];
  const quiet = await execMain(['--path', path.join(h.dir, 'policy.d'), '--stderr', 'work', 'personal', 'qubes.Filecopy'], {
    stdout: () => undefined,
    stderr: (s) => t.notMatch(s, 'timing'),
    stderrSink: (_level, line) => lines.push(line),
    env: { QUBESD_INTERNAL_SOCKET: h.internal.socket },
  });
  t.equal(quiet, 0);
  t.same(lines, ['qrexec: qubes.Filecopy: work -> personal: allowed to personal'], 'the decision line, and no timing line');
});

/**
 * The daemon's sockets, served in this process over real unix sockets: the
 * policy request protocol (answers, every malformed kind, limits, slow and
 * concurrent clients), the policy agent for ask and notify, system info
 * from qubesd, and the policy.EvalSimple / policy.EvalGUI services.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { startFakeAgent } from '../helpers/fake-agent.js';
import { startFakeQubesd } from '../helpers/fake-qubesd.js';
import { connectionLimit, DaemonServers, DaemonStartError, openFileLimit } from '../../src/daemon/server.js';
import { bindPath, probeSocket, refuseUnlessFree, SocketPaths } from '../../src/daemon/sockets.js';
import { daemonConfig } from '../../src/daemon/config.js';
import { TransitionLog } from '../../src/daemon/health.js';
import { serve } from '../../src/daemon/serve.js';
import type { Services } from '../../src/daemon/decide.js';
import { systemInfoFromJson } from '../../src/policy/system-info.js';
import { loadPolicySet } from '../../src/policy/policy.js';
import {
  ALLOW_PERSONAL,
  captureLog,
  makeTree,
  policyRequest,
  request,
  serviceCall,
  startDaemon,
  SYSTEM_INFO,
  treeArgs,
  until,
} from './fixtures/daemon.js';

t.test('allow, deny and just_evaluate: the result block, then EOF; one decision line each', async (t) => {
  const tree = makeTree(t);
  const d = await startDaemon(t, tree);
  t.equal((await request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy'))).text, ALLOW_PERSONAL);
  t.equal((await request(tree.sock, policyRequest('work', 'vault', 'qubes.Filecopy'))).text, 'result=deny\n');
  t.equal((await request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy', { just_evaluate: 'yes' }))).text, 'result=allow\n');
  t.equal((await request(tree.sock, policyRequest('work', 'vault', 'qubes.Filecopy', { just_evaluate: 'yes' }))).text, 'result=deny\n');
  // an invalid request is still a request: denied, not dropped
  t.equal((await request(tree.sock, policyRequest('work', 'personal', 'bad/service'))).text, 'result=deny\n');
  t.same(d.cap.matching(/^qrexec: /), [
    'qrexec: qubes.Filecopy: work -> personal: allowed to personal',
    `qrexec: qubes.Filecopy: work -> vault: denied: denied by policy ${tree.policy}/30-test.policy:3`,
    'qrexec: qubes.Filecopy: work -> personal: allowed to personal',
    `qrexec: qubes.Filecopy: work -> vault: denied: denied by policy ${tree.policy}/30-test.policy:3`,
    'qrexec: bad/service: work -> personal: denied: bad request: invalid characters in service name "bad/service"',
  ]);
  t.same(d.cap.matching(/^(info: )?(policy|system info) loaded|listening/), [
    'policy loaded: 5 rules from 1 files',
    'system info loaded: 6 qubes from ' + tree.si,
    `listening on ${tree.sock}, ${tree.evalSock}, ${tree.guiSock}`,
  ]);
  t.equal(fs.statSync(tree.sock).mode & 0o777, 0o660, 'sockets are group read-write');
});

t.test('ask: assume_yes_for_ask decides for the requested target; otherwise the policy agent asks', async (t) => {
  const tree = makeTree(t);
  const agent = await startFakeAgent(tree.rpc, { ask: 'allow:personal', notify: '' });
  t.teardown(() => agent.close());
  const d = await startDaemon(t, tree);
  const yes = { assume_yes_for_ask: 'yes' };
  t.equal((await request(tree.sock, policyRequest('work', 'personal', 'test.Ask', yes))).text, ALLOW_PERSONAL);
  t.equal((await request(tree.sock, policyRequest('work', 'personal', 'test.Ask', { ...yes, just_evaluate: 'yes' }))).text, 'result=allow\n');
  // not offered (@anyvm is never dom0): no rule matches
  t.equal((await request(tree.sock, policyRequest('work', 'dom0', 'test.Ask', yes))).text, 'result=deny\n');
  // just_evaluate without assume-yes: an ask is a deny, and nobody is asked
  t.equal((await request(tree.sock, policyRequest('work', 'personal', 'test.Ask', { just_evaluate: 'yes' }))).text, 'result=deny\n');
  const asks = () => agent.calls.filter((c) => c.service === 'policy.Ask');
  t.equal(asks().length, 0);
  // the user is asked, and picks personal
  t.equal((await request(tree.sock, policyRequest('work', '', 'test.Ask'))).text, ALLOW_PERSONAL.replace('requested_target=personal', 'requested_target=@default'));
  t.equal(asks().length, 1);
  t.match(asks()[0], {
    service: 'policy.Ask',
    params: { source: 'work', service: 'test.Ask', argument: '+', default_target: 'personal' },
  });
  t.ok((asks()[0]!.params['targets'] as string[]).includes('personal'));
  t.equal(d.cap.matching(/^qrexec: test\.Ask: work -> @default: allowed to personal$/).length, 1);
});

t.test('ask answered "deny" by the user, and a source without a GuiVM: denied', async (t) => {
  const tree = makeTree(t, 'test.Ask * @anyvm @anyvm ask\n');
  const agent = await startFakeAgent(tree.rpc, { ask: 'deny', notify: '' });
  t.teardown(() => agent.close());
  const d = await startDaemon(t, tree);
  t.equal((await request(tree.sock, policyRequest('work', 'personal', 'test.Ask'))).text, 'result=deny\n');
  t.equal((await request(tree.sock, policyRequest('vault', 'personal', 'test.Ask'))).text, 'result=deny\n');
  t.equal(agent.calls.filter((c) => c.service === 'policy.Ask').length, 1, 'vault has no GuiVM: nobody to ask');
  t.equal(d.cap.matching(/^error: test\.Ask not allowed from vault: the resolution was "ask", but the source has no GuiVM$/).length, 1);
});

t.test('notifications: sent for notify=yes allows and for denials, never with just_evaluate', async (t) => {
  const tree = makeTree(t);
  const agent = await startFakeAgent(tree.rpc, { notify: '' });
  t.teardown(() => agent.close());
  await startDaemon(t, tree);
  t.match((await request(tree.sock, policyRequest('work', 'vault', 'qubes.Gpg'))).text, /^user=DEFAULT\nresult=allow\ntarget=vault\n/);
  t.equal((await request(tree.sock, policyRequest('work', 'vault', 'test.Deny'))).text, 'result=deny\n');
  await until(() => agent.calls.length === 2, 5000, 'two notifications');
  t.same(
    agent.calls.map((c) => c.params),
    [
      { resolution: 'allow', service: 'qubes.Gpg', argument: '+', source: 'work', target: 'vault' },
      { resolution: 'deny', service: 'test.Deny', argument: '+', source: 'work', target: 'vault' },
    ],
  );
  t.equal((await request(tree.sock, policyRequest('work', 'vault', 'test.Deny', { just_evaluate: 'yes' }))).text, 'result=deny\n');
  t.equal((await request(tree.sock, policyRequest('work', 'vault', 'qubes.Filecopy'))).text, 'result=deny\n', 'notify=no');
  // a sync point: a request answered after any notification would have been sent
  await request(tree.sock, policyRequest('work', 'vault', 'qubes.Gpg', { just_evaluate: 'yes' }));
  await until(() => agent.calls.length >= 2);
  t.equal(agent.calls.length, 2);
});

t.test('a request sent again, byte for byte: the same answer, and every call logged and notified; asks still ask', async (t) => {
  const tree = makeTree(t);
  const agent = await startFakeAgent(tree.rpc, { ask: 'allow:personal', notify: '' });
  t.teardown(() => agent.close());
  // not debug: there, every call has its own timing line (the next test)
  const d = await startDaemon(t, tree, {}, captureLog('info'));
  const gpg = policyRequest('work', 'vault', 'qubes.Gpg');
  const nobody = policyRequest('work', 'nobody', 'qubes.Filecopy');
  const first = await request(tree.sock, gpg);
  t.match(first.text, /^user=DEFAULT\nresult=allow\ntarget=vault\n/);
  for (let i = 0; i < 3; i++) t.equal((await request(tree.sock, gpg)).text, first.text, `again ${i + 1}`);
  for (let i = 0; i < 3; i++) t.equal((await request(tree.sock, nobody)).text, 'result=deny\n');
  // in pieces: the same answer the long way
  t.equal((await request(tree.sock, [gpg.slice(0, 10), gpg.slice(10)])).text, first.text);
  // qubes.Gpg notifies (notify=yes), and so does the deny of an unknown target (a deny's default)
  const notified = (service: string) => agent.calls.filter((c) => c.service === 'policy.Notify' && c.params['service'] === service).length;
  await until(() => notified('qubes.Gpg') === 5 && notified('qubes.Filecopy') === 3, 5000, 'a notification per call');
  t.equal(d.cap.matching(/^qrexec: qubes\.Gpg: work -> vault: allowed to vault$/).length, 5, 'a decision line per call');
  t.equal(d.cap.matching(/^warning: target "nobody" does not exist/).length, 3, 'a warning per call');
  t.equal(d.cap.matching(/^qrexec: qubes\.Filecopy: work -> nobody: denied/).length, 3);
  // the user is asked every time
  const ask = policyRequest('work', '', 'test.Ask');
  for (let i = 0; i < 2; i++) t.equal((await request(tree.sock, ask)).text, ALLOW_PERSONAL.replace('requested_target=personal', 'requested_target=@default'));
  t.equal(agent.calls.filter((c) => c.service === 'policy.Ask').length, 2);
  // a changed policy answers anew
  fs.writeFileSync(path.join(tree.policy, '30-test.policy'), fs.readFileSync(path.join(tree.policy, '30-test.policy'), 'utf8').replace(/^qubes\.Gpg.*$/m, 'qubes.Gpg * work vault deny'));
  await until(async () => (await request(tree.sock, gpg)).text === 'result=deny\n', 5000, 'the new policy answers');
  t.equal((await request(tree.sock, gpg)).text, 'result=deny\n');
});

t.test('with --log-level debug every call has its timing line, repeated or not', async (t) => {
  const tree = makeTree(t);
  const d = await startDaemon(t, tree, { logLevel: 'debug' });
  const req = policyRequest('work', 'personal', 'qubes.Filecopy');
  for (let i = 0; i < 3; i++) t.equal((await request(tree.sock, req)).text, ALLOW_PERSONAL);
  t.equal(d.cap.matching(/^debug: timing: qubes\.Filecopy: work -> personal: /).length, 3);
});

t.test('warnings from evaluation are logged (an unknown target is @default)', async (t) => {
  const tree = makeTree(t);
  const d = await startDaemon(t, tree);
  t.equal((await request(tree.sock, policyRequest('work', 'nobody', 'qubes.Filecopy'))).text, 'result=deny\n');
  t.same(d.cap.matching(/^warning: /), ['warning: target "nobody" does not exist, using @default instead']);
});

t.test('requested_source is passed on (an unknown RemoteVM is a denied request)', async (t) => {
  const tree = makeTree(t);
  const d = await startDaemon(t, tree);
  const r = await request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy', { requested_source: 'remote9' }));
  t.equal(r.text, 'result=deny\n');
  t.equal(d.cap.matching(/requested source "remote9" is not a known RemoteVM/).length, 1);
});

t.test('malformed requests: closed without an answer, one log line each saying why', async (t) => {
  const tree = makeTree(t);
  const d = await startDaemon(t, tree);
  const ok = 'source=work\nintended_target=personal\nservice_and_arg=qubes.Filecopy\n';
  const cases: [string, string | Buffer, RegExp, { halfClose?: boolean }?][] = [
    ['R4.1 domain_id', 'domain_id=12\n' + ok + '\n', /unknown key "domain_id"/],
    ['long key', 'k'.repeat(50) + '=1\n' + ok + '\n', new RegExp(`unknown key "${'k'.repeat(40)}…"`)],
    ['R4.1 process_ident', ok + 'process_ident=SOCKET7\n\n', /unknown key "process_ident"/],
    ['repeated key', ok + 'source=vault\n\n', /repeated key source/],
    ['bad boolean', ok + 'assume_yes_for_ask=True\n\n', /invalid boolean "True" for assume_yes_for_ask \(yes or no\)/],
    ['bad boolean 2', ok + 'just_evaluate=\n\n', /invalid boolean "" for just_evaluate/],
    ['one key missing', 'source=work\nintended_target=personal\n\n', /missing key service_and_arg;/],
    ['all keys missing', '\n', /missing keys source, intended_target, service_and_arg/],
    ['no "="', ok + 'garbage\n\n', /line without "=": "garbage"/],
    ['non-ASCII', Buffer.concat([Buffer.from('source=w\xe9rk\n', 'latin1'), Buffer.from('intended_target=x\nservice_and_arg=y\n\n')]), /non-ASCII byte 0xe9/],
    ['control character', ok.replace('work', 'wo\rrk') + '\n', /control character 0x0d/],
    ['NUL', ok.replace('work', 'wo\0rk') + '\n', /control character 0x00/],
    ['too long', 'source=' + 'a'.repeat(70_000), /request longer than 66000 bytes/],
    ['too long, terminated', 'source=' + 'a'.repeat(66_000) + '\n' + ok + '\n', /request longer than 66000 bytes/],
    ['EOF mid-line', ok + 'just_eval', /ends in the middle of a line/, { halfClose: true }],
    ['EOF at once', '', /connection closed without a request/, { halfClose: true }],
  ];
  for (const [name, data, why, opts] of cases) {
    const before = d.cap.lines.length;
    const r = await request(tree.sock, data, opts);
    t.equal(r.text, '', `${name}: no answer`);
    await until(() => d.cap.lines.length > before, 2000, name);
    const added = d.cap.lines.slice(before);
    t.equal(added.length, 1, `${name}: one line`);
    t.match(added[0], why, name);
    t.match(added[0], /^error: policy request: .*; closed without an answer$/, name);
  }
});

t.test('framing: requests in pieces, trailing bytes, and a half-close after complete lines', async (t) => {
  const tree = makeTree(t);
  await startDaemon(t, tree);
  const req = policyRequest('work', 'personal', 'qubes.Filecopy');
  // one byte at a time, the empty line split across reads
  t.equal((await request(tree.sock, [...req])).text, ALLOW_PERSONAL);
  // bytes after the empty line are not part of the request
  t.equal((await request(tree.sock, req + 'ignored=1\n\n')).text, ALLOW_PERSONAL);
  // the reference answers a client that half-closes after complete lines without the empty line
  t.equal((await request(tree.sock, req.slice(0, -1), { halfClose: true })).text, ALLOW_PERSONAL);
});

t.test('a slow client is closed after the read timeout and blocks nobody meanwhile', async (t) => {
  const tree = makeTree(t);
  const d = await startDaemon(t, tree, { requestTimeout: '0.3' });
  const slow = net.createConnection(tree.sock);
  slow.on('error', () => {});
  slow.write('source=work\nintended_');
  const slowClosed = new Promise<number>((resolve) => slow.on('close', () => resolve(performance.now())));
  const t0 = performance.now();
  // others are answered while it dawdles
  for (let i = 0; i < 5; i++) t.equal((await request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy'))).text, ALLOW_PERSONAL);
  t.ok(performance.now() - t0 < 300, 'answered before the slow client timed out');
  const closedAt = await slowClosed;
  t.ok(closedAt - t0 >= 250, `closed after the limit (${Math.round(closedAt - t0)} ms)`);
  t.equal(d.cap.matching(/^error: policy request: no complete request within 300 ms; closed without an answer$/).length, 1);
  // a connection that never sends anything is closed the same way
  const idle = net.createConnection(tree.sock);
  idle.on('error', () => {});
  await new Promise((resolve) => idle.on('close', resolve));
  t.equal(d.cap.matching(/no complete request within 300 ms/).length, 2);
});

t.test('many concurrent clients get correct, independent answers', async (t) => {
  const tree = makeTree(t);
  await startDaemon(t, tree);
  const kinds = [
    { req: policyRequest('work', 'personal', 'qubes.Filecopy'), want: ALLOW_PERSONAL },
    { req: policyRequest('work', 'vault', 'qubes.Filecopy'), want: 'result=deny\n' },
    { req: policyRequest('work', 'personal', 'test.Ask', { assume_yes_for_ask: 'yes', just_evaluate: 'yes' }), want: 'result=allow\n' },
    { req: policyRequest('work', 'vault', 'qubes.Gpg', { just_evaluate: 'yes' }), want: 'result=allow\n' },
    { req: 'domain_id=3\n' + policyRequest('work', 'personal', 'qubes.Filecopy'), want: '' },
  ];
  const jobs = Array.from({ length: 200 }, (_, i) => kinds[i % kinds.length]!);
  const replies = await Promise.all(jobs.map((k) => request(tree.sock, [k.req.slice(0, 7), k.req.slice(7)])));
  t.equal(replies.filter((r, i) => r.text !== jobs[i]!.want).length, 0, 'every client got its own answer');
});

t.test('an answer longer than 4096 bytes, or not ASCII, is a denial', async (t) => {
  // names in requests are bounded, but system info is not: a RemoteVM relayed by a qube with a huge name
  const relay = 'r' + 'x'.repeat(4000);
  const si = {
    domains: {
      ...SYSTEM_INFO.domains,
      [relay]: { type: 'AppVM', uuid: '99999999-9999-4999-8999-999999999999' },
      remote1: { type: 'RemoteVM', uuid: '88888888-8888-4888-8888-888888888888', relayvm: relay, transport_rpc: 'qubesair.SSHProxy' },
      pérsonal: { type: 'AppVM', uuid: '77777777-7777-4777-8777-777777777777' },
    },
  };
  const tree = makeTree(t, 'test.Big * work @anyvm allow\ntest.Utf * work @default allow target=pérsonal\n', si);
  const d = await startDaemon(t, tree);
  t.equal((await request(tree.sock, policyRequest('work', 'remote1', 'test.Big'))).text, 'result=deny\n');
  t.equal((await request(tree.sock, policyRequest('work', '', 'test.Utf'))).text, 'result=deny\n');
  t.match(d.cap.matching(/qrexec: test\.(Big|Utf)/), [
    /qrexec: test\.Big: work -> remote1: denied: the result block for remote1 cannot be sent to qrexec-daemon \(over 4096 bytes\); rule .*:1$/,
    /qrexec: test\.Utf: work -> @default: denied: the result block for pérsonal cannot be sent to qrexec-daemon \(not printable ASCII\); rule .*:2$/,
  ]);
  // evaluation alone agrees with qrexec-policy-exec and eval: what cannot be sent is not allowed
  t.equal((await request(tree.sock, policyRequest('work', 'remote1', 'test.Big', { just_evaluate: 'yes' }))).text, 'result=deny\n');
});

t.test('system info from qubesd, per request; a qubesd failure denies', async (t) => {
  const tree = makeTree(t);
  let fail = false;
  let info = SYSTEM_INFO;
  const qubesd = await startFakeQubesd(tree.dir, 'qubesd.sock', (req) =>
    fail ? { exception: 'QubesException' } : req.method === 'internal.GetSystemInfo' ? { ok: JSON.stringify(info) } : { exception: 'Nope' },
  );
  t.teardown(() => qubesd.close());
  // at info (not debug): a request sent again is answered through the quick path, which must not ask qubesd twice
  const d = await startDaemon(t, tree, { systemInfo: undefined, qubesdInternalSocket: qubesd.socket }, captureLog('info'));
  t.equal((await request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy'))).text, ALLOW_PERSONAL);
  t.equal((await request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy'))).text, ALLOW_PERSONAL);
  t.equal(qubesd.calls.length, 2, 'asked once for every request');
  // a reply that differs is read anew (the same one is decoded once): personal gone, then back
  const { personal, ...others } = SYSTEM_INFO.domains;
  info = { ...SYSTEM_INFO, domains: others };
  t.equal((await request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy'))).text, 'result=deny\n', 'a qube gone from qubesd');
  info = SYSTEM_INFO;
  t.equal((await request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy'))).text, ALLOW_PERSONAL, 'and back');
  t.ok(personal, 'the system info had personal');
  fail = true;
  t.equal((await request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy'))).text, 'result=deny\n');
  t.equal(d.cap.matching(/^error: qrexec: qubes\.Filecopy: work -> personal: denied: no system info: give --system-info FILE or run in dom0 \(.*QubesException/).length, 1);
  // EvalGUI cannot check its caller without system info: no answer
  const r = await request(tree.guiSock, serviceCall('policy.EvalGUI', 'qubes.Filecopy', 'sys-gui', 'work\0personal'), { halfClose: true });
  t.equal(r.text, '');
  t.equal(d.cap.matching(/^error: policy\.EvalGUI: cannot check the caller "sys-gui": no system info/).length, 1);
  d.reload(); // nothing cached: a no-op
});

t.test('a system-info file that cannot be read denies everything', async (t) => {
  const tree = makeTree(t);
  fs.writeFileSync(tree.si, '{"domains": 7}');
  const d = await startDaemon(t, tree, {}, captureLog('info'));
  t.equal((await request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy'))).text, 'result=deny\n');
  t.equal(d.cap.matching(/^error: system info failed to load: .*denying every request until it loads$/).length, 1);
  t.equal(d.cap.matching(/^error: qrexec: qubes\.Filecopy: work -> personal: denied: system info/).length, 1);
  t.equal((await request(tree.sock, policyRequest('work', '', 'qubes.Filecopy'))).text, 'result=deny\n');
  t.equal(d.cap.matching(/^error: qrexec: qubes\.Filecopy: work -> @default: denied: system info/).length, 1);
  // asked again: denied again, and said again
  t.equal((await request(tree.sock, policyRequest('work', '', 'qubes.Filecopy'))).text, 'result=deny\n');
  t.equal(d.cap.matching(/^error: qrexec: qubes\.Filecopy: work -> @default: denied: system info/).length, 2);
});

t.test('policy.EvalSimple: result=allow / result=deny as just-evaluate with assume-yes', async (t) => {
  const tree = makeTree(t);
  await startDaemon(t, tree);
  const call = (queried: string | null, payload: string, service = 'policy.EvalSimple') =>
    request(tree.evalSock, serviceCall(service, queried, 'work', payload), { halfClose: true });
  t.equal((await call('qubes.Filecopy', 'work\0personal')).text, 'result=allow\n');
  t.equal((await call('qubes.Filecopy', 'work\0vault')).text, 'result=deny\n');
  t.equal((await call('test.Ask', 'work\0personal')).text, 'result=allow\n', 'ask with assume-yes');
  t.equal((await call('test.Ask', 'work\0@default')).text, 'result=deny\n');
  t.equal((await call('qubes.Filecopy+some-arg', 'work\0personal')).text, 'result=allow\n');
});

t.test('policy.EvalSimple / EvalGUI: malformed calls are closed without an answer, logged', async (t) => {
  const tree = makeTree(t);
  const d = await startDaemon(t, tree);
  const cases: [string, string, string | Buffer, RegExp, boolean?][] = [
    ['wrong service', tree.evalSock, serviceCall('policy.Other', 'qubes.Filecopy', 'work', 'work\0personal'), /^error: policy\.EvalSimple invoked with incorrect name "policy\.Other" by "work"$/],
    ['no argument', tree.evalSock, serviceCall('policy.EvalSimple', null, 'work', 'work\0personal'), /requires an argument \(the service to query\), but "work" did not provide one/],
    ['empty argument', tree.evalSock, serviceCall('policy.EvalSimple', '', 'work', 'work\0personal'), /requires an argument/],
    ['argument +x', tree.evalSock, serviceCall('policy.EvalSimple', '+x', 'work', 'work\0personal'), /requires an argument/],
    ['no NUL', tree.evalSock, serviceCall('policy.EvalSimple', 'a.b', 'work', 'workpersonal'), /"work" sent no NUL between source and target/],
    ['long source', tree.evalSock, serviceCall('policy.EvalSimple', 'a.b', 'work', 'w'.repeat(32) + '\0personal'), /a source of length 32, but the limit is 31/],
    ['empty source', tree.evalSock, serviceCall('policy.EvalSimple', 'a.b', 'work', '\0personal'), /a source of length 0/],
    ['long target', tree.evalSock, serviceCall('policy.EvalSimple', 'a.b', 'work', 'work\0' + 'p'.repeat(64)), /a target of length 64, but the limit is 63/],
    ['empty target', tree.evalSock, serviceCall('policy.EvalSimple', 'a.b', 'work', 'work\0'), /a target of length 0/],
    ['bad name', tree.evalSock, serviceCall('policy.EvalSimple', 'a.b', 'work', 'wo/rk\0personal'), /an invalid qube name/],
    ['second NUL', tree.evalSock, serviceCall('policy.EvalSimple', 'a.b', 'work', 'work\0per\0sonal'), /an invalid qube name/],
    ['non-ASCII name', tree.evalSock, serviceCall('policy.EvalSimple', 'a.b', 'work', 'w\xe9rk\0personal'), /an invalid qube name/],
    ['header without space', tree.evalSock, 'policy.EvalSimple+a.b\0work\0personal', /malformed service header "policy\.EvalSimple\+a\.b"/],
    ['header non-ASCII', tree.evalSock, 'policy.EvalSimple+a.b w\xe9rk\0work\0personal', /non-ASCII byte 0xe9 in the service header/],
    ['header newline', tree.evalSock, 'policy.EvalSimple+a.b wo\nrk\0work\0personal', /control character 0x0a in the service header/],
    ['EOF in header', tree.evalSock, 'policy.EvalSimple+a.b work', /connection closed before the end of the service header/],
    ['too much data', tree.evalSock, serviceCall('policy.EvalSimple', 'a.b', 'work', 'w'.repeat(97)), /more than 96 bytes of data/, false],
    ['header too long', tree.evalSock, 'policy.EvalSimple+' + 'a'.repeat(66_000), /service header longer than 66000 bytes/, false],
    ['header too long, ended', tree.evalSock, serviceCall('policy.EvalSimple', 'a'.repeat(66_000), 'work', 'work\0personal'), /service header longer than 66000 bytes/],
    ['GUI: not the GUI qube', tree.guiSock, serviceCall('policy.EvalGUI', 'qubes.Filecopy', 'work', 'work\0personal'), /^warning: policy\.EvalGUI can only be invoked by the GUI qube of both the source and the target, not "work"$/],
    ['GUI: target lacks the tag', tree.guiSock, serviceCall('policy.EvalGUI', 'qubes.Filecopy', 'sys-gui', 'work\0vault'), /can only be invoked by the GUI qube/],
    ['GUI: unknown target', tree.guiSock, serviceCall('policy.EvalGUI', 'qubes.Filecopy', 'sys-gui', 'work\0nobody'), /can only be invoked by the GUI qube/],
  ];
  for (const [name, sock, data, why, halfClose = true] of cases) {
    const before = d.cap.lines.length;
    const r = await request(sock, data, { halfClose });
    t.equal(r.text, '', `${name}: no answer`);
    await until(() => d.cap.lines.length > before, 2000, name);
    t.equal(d.cap.lines.length - before, 1, `${name}: one line`);
    t.match(d.cap.lines[before], why, name);
  }
});

t.test('policy.EvalGUI answers the GUI qube of both source and target', async (t) => {
  const tree = makeTree(t);
  await startDaemon(t, tree);
  const call = (remote: string, payload: string) =>
    request(tree.guiSock, serviceCall('policy.EvalGUI', 'qubes.Filecopy', remote, payload), { halfClose: true });
  t.equal((await call('sys-gui', 'work\0personal')).text, 'result=allow\n');
  t.equal((await call('sys-gui', 'personal\0work')).text, 'result=deny\n');
});

t.test('an answer that comes after the daemon dropped the client goes nowhere; extra bytes are ignored', async (t) => {
  const tree = makeTree(t, 'test.Ask * @anyvm @anyvm ask\n');
  const agent = await startFakeAgent(tree.rpc, { ask: 'hang', notify: '' });
  t.teardown(() => agent.close());
  // the ask outlasts the stop's drain (DRAIN_MS), so the stop drops the waiting client
  const d = await startDaemon(t, tree, { askTimeout: '0.8' });
  // a client that leaves while the user is asked: the answer (a timeout) is written to nobody
  const gone = net.createConnection(tree.sock, () => gone.write(policyRequest('work', 'personal', 'test.Ask')));
  gone.on('error', () => {});
  await until(() => agent.calls.length === 1, 3000, 'the first ask');
  gone.destroy();
  await until(() => d.cap.matching(/^qrexec: test\.Ask: work -> personal: denied:/).length === 1, 3000, 'the first timed-out ask');
  const c = net.createConnection(tree.sock, () => c.write(policyRequest('work', 'personal', 'test.Ask')));
  c.on('error', () => {});
  const closed = new Promise((resolve) => c.on('close', resolve));
  await until(() => agent.calls.filter((a) => a.service === 'policy.Ask').length === 2, 3000, 'the ask');
  c.write('more=bytes\n\n');
  await new Promise((r) => setTimeout(r, 20));
  // stopping drops the waiting client; the agent's (timed-out) answer comes later
  d.stop();
  await closed;
  await until(() => d.cap.matching(/^qrexec: test\.Ask: work -> personal: denied:/).length === 2, 3000, 'the timed-out ask');
  t.match(d.cap.matching(/cannot ask the policy agent/)[1], /no answer within 800 ms/);
});

t.test('stopping lets the connections already accepted be answered', async (t) => {
  // a worker stopped on its own (SIGTERM) must not drop the calls it has taken while others serve
  const tree = makeTree(t);
  const d = await startDaemon(t, tree);
  const full = policyRequest('work', 'personal', 'qubes.Filecopy');
  // five clients, each accepted with half of its request sent
  const clients = await Promise.all(
    Array.from({ length: 5 }, () => new Promise<net.Socket>((resolve) => {
      const c = net.createConnection(tree.sock, () => c.write(full.slice(0, 20), () => resolve(c)));
    })),
  );
  await new Promise((r) => setTimeout(r, 50));
  const answers = clients.map((c) => new Promise<string>((resolve) => {
    let text = '';
    c.on('data', (b) => (text += b.toString('latin1')));
    c.on('close', () => resolve(text));
    c.on('error', () => {});
  }));
  d.stop();
  // the stop has begun: the rest of each request still gets its answer
  for (const c of clients) c.write(full.slice(20));
  for (const text of await Promise.all(answers)) t.match(text, /^result=deny$|^user=/m, 'answered after the stop began');
  t.equal(await d.done, 0);
  // and a new connection is refused meanwhile: nothing listens any more
  await t.rejects(new Promise((resolve, reject) => net.createConnection(tree.sock).on('connect', resolve).on('error', reject)));
});

t.test('stopping drops open connections; sockets are removed', async (t) => {
  const tree = makeTree(t);
  const cfg = daemonConfig(treeArgs(tree), {});
  const cap = captureLog();
  const running = serve(cfg, cap.log, new TransitionLog(cap.log).note, { primary: true });
  await running.ready;
  const c = net.createConnection(tree.sock);
  c.on('error', () => {});
  const closed = new Promise((resolve) => c.on('close', resolve));
  await new Promise((resolve) => c.on('connect', resolve));
  running.stop();
  running.stop();
  t.equal(await running.done, 0);
  await closed;
  t.notOk(fs.existsSync(tree.sock));
});

t.test('socket paths: a stale socket is replaced, a live one refused, anything else kept; on stop only our own is removed', async (t) => {
  const tree = makeTree(t);
  const serveTree = (extra = {}) => {
    const cap = captureLog();
    const running = serve(daemonConfig(treeArgs(tree, extra), {}), cap.log, () => {}, { primary: true });
    return { cap, running };
  };
  // a socket nobody listens on any more
  const stale = net.createServer();
  await new Promise<void>((resolve) => stale.listen(path.join(tree.dir, 'tmp.sock'), resolve));
  fs.renameSync(path.join(tree.dir, 'tmp.sock'), tree.sock);
  await new Promise((resolve) => stale.close(resolve));
  t.ok(fs.lstatSync(tree.sock).isSocket());
  t.equal(await probeSocket(tree.sock), 'free');
  const d = await startDaemon(t, tree);
  t.equal((await request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy'))).text, ALLOW_PERSONAL);
  t.equal(fs.readdirSync(tree.dir).filter((n) => n.startsWith('.')).length, 0, 'no temporary names left behind');
  t.equal(fs.statSync(tree.sock).mode & 0o777, 0o660, 'group read-write');

  // a second daemon on the same paths: refused, and the first one's sockets are untouched
  let second = serveTree();
  await t.rejects(second.running.ready, { message: `another daemon is serving on ${tree.sock}; not starting` });
  t.equal(await second.running.done, 1);
  t.same(second.cap.matching(/^error: /), [`error: another daemon is serving on ${tree.sock}; not starting`]);
  t.equal((await request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy'))).text, ALLOW_PERSONAL, 'the first one still answers');
  d.stop();
  t.equal(await d.done, 0);
  t.notOk(fs.existsSync(tree.sock), 'our socket removed on stop');
  // accepted once the first has gone
  second = serveTree();
  await second.running.ready;
  t.equal((await request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy'))).text, ALLOW_PERSONAL);
  // someone else's socket put at our path meanwhile is left alone on stop
  const other = net.createServer((c) => c.end('other\n'));
  await new Promise<void>((resolve) => other.listen(path.join(tree.dir, 'other.sock'), resolve));
  t.teardown(() => other.close());
  fs.renameSync(path.join(tree.dir, 'other.sock'), tree.sock);
  second.running.stop();
  t.equal(await second.running.done, 0);
  t.equal((await request(tree.sock, '')).text, 'other\n', 'not ours any more: not removed');
  fs.rmSync(tree.sock);

  // a regular file where a socket should be is not removed: start-up fails
  fs.writeFileSync(tree.evalSock, 'keep me');
  let s = serveTree();
  await t.rejects(s.running.ready, { message: `cannot listen on ${tree.evalSock}: something other than a socket is there` });
  t.ok(await s.running.ready.catch((e: unknown) => e instanceof DaemonStartError));
  t.equal(await s.running.done, 1);
  t.same(s.cap.matching(/^error: /), [`error: cannot listen on ${tree.evalSock}: something other than a socket is there`]);
  t.equal(fs.readFileSync(tree.evalSock, 'utf8'), 'keep me');
  fs.rmSync(tree.evalSock);

  // a directory that does not exist
  s = serveTree({ socketPath: path.join(tree.dir, 'no/such/dir/p.sock') });
  t.equal(await s.running.done, 1);
  t.match(s.cap.matching(/^error: /), [/^error: cannot listen on .*no\/such\/dir\/p\.sock: the directory .*no\/such\/dir does not exist$/]);

  // a temporary name left by an earlier process with our id is cleared; anything else in its way fails the start
  const tmp = bindPath(tree.sock, process.pid);
  const leftover = net.createServer();
  await new Promise<void>((resolve) => leftover.listen(path.join(tree.dir, 'leftover.sock'), resolve));
  fs.renameSync(path.join(tree.dir, 'leftover.sock'), tmp);
  await new Promise((resolve) => leftover.close(resolve));
  t.ok(fs.lstatSync(tmp).isSocket());
  fs.writeFileSync(bindPath(tree.guiSock, process.pid), 'in the way');
  s = serveTree();
  t.equal(await s.running.done, 1);
  t.same(s.cap.matching(/^error: /), [`error: cannot listen on ${tree.guiSock}: EADDRINUSE`]);
  t.notOk(fs.existsSync(tmp), 'the stale temporary socket was cleared');
});

t.test('SocketPaths: names, probes and claims', async (t) => {
  const tree = makeTree(t);
  t.equal(bindPath('/run/qubes/policy.sock', 36 * 36), '/run/qubes/.100~policy.sock');
  t.equal(Buffer.byteLength(bindPath('/x/' + 'p'.repeat(120), 1)), 107, 'cut to what a socket address holds');
  t.same(await probeSocket(path.join(tree.si, 'x')), { unknown: 'ENOTDIR' });
  t.throws(() => refuseUnlessFree('/p', { unknown: 'EACCES' }), { message: 'cannot tell whether another daemon serves on /p (EACCES); not starting' });
  t.doesNotThrow(() => refuseUnlessFree('/p', 'free'));
  // a temporary socket that cannot be moved into place
  const sockets = new SocketPaths([path.join(tree.dir, 'dir-in-the-way')], 1);
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(sockets.bindPath(path.join(tree.dir, 'dir-in-the-way')), resolve));
  t.teardown(() => server.close());
  fs.mkdirSync(path.join(tree.dir, 'dir-in-the-way'));
  fs.writeFileSync(path.join(tree.dir, 'dir-in-the-way', 'x'), '');
  t.throws(() => sockets.claim(), { message: /^cannot put the socket in place at .*dir-in-the-way: [a-z][a-z ]+$/ });
  sockets.release();
  t.ok(fs.existsSync(path.join(tree.dir, 'dir-in-the-way', 'x')), 'not ours: left alone');
});

t.test('the connection limit: what the file-descriptor limit allows', async (t) => {
  const dir = makeTree(t).dir;
  const limits = path.join(dir, 'limits');
  fs.writeFileSync(limits, 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n');
  t.equal(openFileLimit(limits), 1024);
  fs.writeFileSync(limits, 'Max open files            unlimited            unlimited            files\n');
  t.equal(openFileLimit(limits), null);
  t.equal(openFileLimit(path.join(dir, 'missing')), null);
  t.ok((openFileLimit() ?? 0) > 0, 'this process has one');
  t.equal(connectionLimit(null, 10), null);
  t.equal(connectionLimit(1024, 30), 1024 - 30 - 64);
  t.equal(connectionLimit(80, 30), 1, 'always at least one');
});

t.test('DaemonServers: accept errors are logged at most once a second; bugs close the connection, logged', async (t) => {
  const tree = makeTree(t);
  const cap = captureLog();
  let mode: 'sync' | 'reject' | 'reject-gui' = 'sync';
  const si = systemInfoFromJson(SYSTEM_INFO);
  const svc: Services = {
    policy: {
      get: () => {
        throw new TypeError('boom');
      },
      peek: () => null,
      invalidate: () => {},
      close: () => {},
    },
    systemInfo: {
      get: () => (mode === 'sync' ? si : Promise.reject(new Error(mode))),
      peek: () => null,
      invalidate: () => {},
      close: () => {},
    },
    agent: { rpcDir: tree.rpc, qrexecClient: '/bin/false', askTimeoutMs: 0, notifyTimeoutMs: 100 },
    log: cap.log,
  };
  const servers = new DaemonServers(svc, { socketPath: tree.sock, evalSocketPath: '', guiSocketPath: tree.guiSock, requestTimeoutMs: 1000 });
  await servers.listen();
  t.teardown(() => servers.close());
  const server = (servers as unknown as { servers: net.Server[] }).servers[0]!;
  const err = Object.assign(new Error('accept'), { code: 'EMFILE' });
  server.emit('error', err);
  server.emit('error', err);
  t.same(cap.lines, [`error: ${tree.sock}: too many open files (EMFILE); out of file descriptors: raise LimitNOFILE in the service unit`]);
  // a client's socket failing (reset, broken pipe) is that client's problem only
  server.once('connection', (sock: net.Socket) => sock.emit('error', Object.assign(new Error('reset'), { code: 'ECONNRESET' })));
  t.equal((await request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy'))).text, '');
  t.equal(cap.lines.at(-1), 'error: internal error: boom', 'and no other line');
  (servers as unknown as { acceptErrorAt: number }).acceptErrorAt = -1e9;
  server.emit('error', new Error('no code'));
  t.equal(cap.lines.at(-1), `error: ${tree.sock}: no code`);

  t.equal((await request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy'))).text, '');
  t.equal(cap.lines.at(-1), 'error: internal error: boom');
  svc.policy.get = () => loadPolicySet({ paths: [tree.policy] });
  mode = 'reject';
  t.equal((await request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy'))).text, '');
  t.equal(cap.lines.at(-1), 'error: internal error: reject');
  mode = 'reject-gui';
  const r = await request(tree.guiSock, serviceCall('policy.EvalGUI', 'a.b', 'sys-gui', 'work\0personal'), { halfClose: true });
  t.equal(r.text, '');
  t.equal(cap.lines.at(-1), 'error: internal error: reject-gui');
  svc.policy.get = () => {
    throw 'not an Error';
  };
  mode = 'sync';
  t.equal((await request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy'))).text, '');
  t.equal(cap.lines.at(-1), 'error: internal error: not an Error');
});

t.test('connections beyond the limit are closed at once, said at once and then once a second with the count', async (t) => {
  const tree = makeTree(t);
  const cap = captureLog();
  const cfg = daemonConfig(treeArgs(tree), {});
  const si = systemInfoFromJson(SYSTEM_INFO);
  const svc: Services = {
    policy: { get: () => loadPolicySet({ paths: [tree.policy] }), peek: () => null, invalidate: () => {}, close: () => {} },
    systemInfo: { get: () => si, peek: () => si, invalidate: () => {}, close: () => {} },
    agent: cfg.agent,
    log: cap.log,
  };
  const servers = new DaemonServers(svc, cfg);
  await servers.listen((p) => p, 100, 2);
  t.teardown(() => servers.close());
  const idle = () => {
    const c = net.createConnection(tree.sock);
    c.on('error', () => {});
    t.teardown(() => c.destroy());
    return new Promise<net.Socket>((resolve) => c.on('connect', () => resolve(c)));
  };
  // two connections that say nothing hold the two places
  await idle();
  await idle();
  await until(() => (servers as unknown as { live: Set<unknown> }).live.size === 2, 2000, 'two connections held');
  t.equal((await request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy'))).text, '', 'the third is closed unanswered');
  const line = (n: number) =>
    `error: ${n} connection${n === 1 ? '' : 's'} closed unanswered: 2 open at once is all that the limit of 100 file descriptors allows; out of file descriptors: raise LimitNOFILE in the service unit`;
  t.same(cap.matching(/closed unanswered/), [line(1)]);
  await request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy'));
  await request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy'));
  t.equal(cap.matching(/closed unanswered/).length, 1, 'at most one line a second');
  await until(() => cap.matching(/closed unanswered/).length === 2, 3000, 'the count of the second since');
  t.equal(cap.matching(/closed unanswered/)[1], line(2));
  // stopping with a report pending: nothing more is said
  await request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy'));
  await request(tree.sock, policyRequest('work', 'personal', 'qubes.Filecopy'));
  await servers.close();
  await new Promise((r) => setTimeout(r, 1100));
  t.equal(cap.matching(/closed unanswered/).length, 2);
});

t.test('DaemonServers: stopped while it starts to listen, it listens nowhere', async (t) => {
  const tree = makeTree(t);
  const cap = captureLog();
  const cfg = daemonConfig(treeArgs(tree), {});
  const servers = new DaemonServers({ policy: null!, systemInfo: null!, agent: cfg.agent, log: cap.log }, cfg);
  const listening = servers.listen();
  await servers.close();
  await t.rejects(listening, { message: 'stopped before listening' });
  t.notOk(fs.existsSync(tree.sock));
  t.equal(fs.readdirSync(tree.dir).filter((n) => n.endsWith('.sock')).length, 0, 'no socket left anywhere');
});

t.test('a bug while starting is one line and status 1', async (t) => {
  const tree = makeTree(t);
  const cap = captureLog();
  const cfg = daemonConfig(treeArgs(tree), {});
  const running = serve({ ...cfg, paths: [42 as unknown as string] }, cap.log, () => {}, { primary: true });
  await t.rejects(running.ready);
  t.equal(await running.done, 1);
  t.match(cap.matching(/^error: /), [/^error: internal error: /]);
});

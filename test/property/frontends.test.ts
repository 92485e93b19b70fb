/**
 * Property-based tests of the front ends (issue 8: properties a, b and f,
 * and the daemon frame fuzzer) on real files and temporary unix sockets:
 * in process for most inputs, and a small sample through the real
 * processes of dist/bin (built by `npm test`'s pretest); then regression
 * tests for what they found. `npm run fuzz` runs them at scale.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSystemInfoFile } from '../../src/io/sources.js';
import { umbrellaMain } from '../../src/cli/umbrella.js';
import { Received } from '../../src/daemon/bytes.js';
import { scanRequest } from '../../src/daemon/protocol.js';
import { askDaemon, captureIo, execInProcess, frameFor, startDaemon } from './lib/frontends.js';
import { writeTree } from './lib/tree.js';
import { FRONTEND_PROPERTIES } from './lib/props-frontends.js';
import { tapProperty } from './lib/property.js';

for (const p of FRONTEND_PROPERTIES) tapProperty(t, p);

t.test('regressions: counterexamples the properties shrank to', async (t) => {
  const dir = t.testdir({
    'policy.d': { '50-a.policy': 'svc.A * work vault allow\n' },
    'si.json': JSON.stringify({ domains: { dom0: { type: 'AdminVM' }, work: { type: 'AppVM', uuid: '11111111-1111-4111-8111-111111111111' }, vault: { type: 'AppVM', uuid: '33333333-3333-4333-8333-333333333333' } } }),
  });
  const src = ['--path', path.join(dir, 'policy.d'), '--legacy-path', path.join(dir, 'no-legacy'), '--system-info', path.join(dir, 'si.json')];

  t.test('(f) eval and explain take `--` before SOURCE TARGET SERVICE, as qrexec-policy-exec does', async (t) => {
    const plain = captureIo();
    t.equal(await umbrellaMain(['eval', '--json', ...src, 'work', 'vault', 'svc.A'], plain), 0, 'without --: allowed');
    t.match(JSON.parse(plain.stdout), { result: 'allow', target: 'vault' });
    const dashed = captureIo();
    const code = await umbrellaMain(['eval', '--json', ...src, '--', 'work', 'vault', 'svc.A'], dashed);
    t.equal(code, 0, 'eval with --: allowed too');
    t.equal(dashed.stdout, plain.stdout, 'the same JSON line');
    const explained = captureIo();
    t.equal(await umbrellaMain(['explain', ...src, '--', 'work', 'vault', 'svc.A'], explained), 0, 'explain with --');
    t.match(explained.stdout, /^decision: allow, to vault$/m, 'explain with --: the decision');
  });

  t.test('(f) qrexec-policy-exec and the daemon agree when user= makes the block non-ASCII or too long for the daemon: both deny', async (t) => {
    for (const user of ['\u00fcser', 'u'.repeat(5000)]) {
      const rule = { service: 'svc.A', argument: '*', source: 'work', target: 'vault', action: 'allow' as const, params: [`user=${user}`] };
      const d = writeTree({ files: [[{ kind: 'rule', rule, layout: { sep: ' ', indent: '', trail: '' } }]], legacy: null, eol: '\n' }, {
        domains: { dom0: { type: 'AdminVM' }, work: { type: 'AppVM', uuid: '11111111-1111-4111-8111-111111111111' }, vault: { type: 'AppVM', uuid: '33333333-3333-4333-8333-333333333333' } },
      });
      fs.mkdirSync(path.join(d.root, 'rpc'));
      const daemon = await startDaemon(d, 10);
      try {
        const q = { source: 'work', target: 'vault', service: 'svc.A', requestedSource: null, assumeYes: false };
        const exec = await execInProcess(d, q);
        t.match(exec, { status: 1, stdout: 'result=deny\n' }, `qrexec-policy-exec denies (user of ${user.length} characters)`);
        t.equal(await askDaemon(daemon, frameFor(q)), exec.stdout, 'the daemon answers the same block');
      } finally {
        await daemon.stop();
        d.remove();
      }
    }
  });

  t.test('(b) a system-info file that is not UTF-8 is refused, naming that (as a policy file is)', async (t) => {
    const file = path.join(dir, 'si-bad.json');
    // "va\xffult" stands for vault: as U+FFFD it becomes another qube, and the allow goes through
    fs.writeFileSync(file, Buffer.concat([Buffer.from('{"domains": {"dom0": {"type": "AdminVM"}, "work": {"type": "AppVM"}, "va'), Buffer.from([0xff]),
      Buffer.from('ult": {"type": "AppVM"}, "vault": {"type": "AppVM", "uuid": "33333333-3333-4333-8333-333333333333"}}}')]));
    t.throws(() => readSystemInfoFile(file), { name: 'SystemInfoError', message: /UTF-8/ }, 'readSystemInfoFile refuses it');
    const io = captureIo();
    await umbrellaMain(['eval', '--json', '--path', path.join(dir, 'policy.d'), '--system-info', file, 'work', 'vault', 'svc.A'], io);
    t.match(JSON.parse(io.stdout), { result: 'deny', reason: /UTF-8/ }, 'eval denies, naming the cause');
  });

  t.test('(frames) a request followed by more bytes in the same write is answered (the rest is ignored)', async (t) => {
    const got = new Received();
    got.push(Buffer.from('source=dvm-b\nintended_target=work\nservice_and_arg=svc.B\nassume_yes_for_ask=yes\n\ntrailing garbage', 'latin1'));
    t.match(scanRequest(got, false), { kind: 'done', value: { source: 'dvm-b', intendedTarget: 'work', serviceAndArg: 'svc.B', assumeYesForAsk: true } });
    t.ok(fs.existsSync(dir));
  });
});

/**
 * `qrexec-policy why` on recorded decision lines, in this project's format
 * and Qubes' (with and without the `qrexec:` tag the journal strips, behind
 * syslog prefixes), through the real umbrella parser: each request's
 * decision today with its rule, CHANGED where the policy now decides
 * otherwise, a deny in one file shadowing another file's allow, --summary's
 * counts; --journal runs a fake journalctl on PATH that records its arguments.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { umbrellaMain } from '../../src/cli/umbrella.js';
import { runWhy } from '../../src/why/cli.js';
import { parseLogLine } from '../../src/why/log-lines.js';
import { captureIo, SYSTEM_INFO } from '../cli/fixtures/cli.js';

const POLICY = {
  '30-user.policy': ['# a catch-all written for one service, shadowing the config below', 'qubes.Gpg * @anyvm @anyvm deny', 'qubes.OpenURL * work @dispvm ask', ''].join('\n'),
  '50-config-foo.policy': ['qubes.Gpg * work vault allow', 'qubes.Filecopy * work personal allow', 'qubes.OpenURL * work @dispvm allow', 'qubes.VMShell * work personal allow', 'qubes.Gpg * personal vault ask', ''].join('\n'),
};

/** Lines as the two front ends and Qubes' tools write them (the daemon's and Qubes' in the journal, ours with a syslog prefix). */
const LOG = [
  'Dec 06 10:00:01 dom0 qrexec-policy-exec[123]: qrexec: qubes.Gpg: work -> vault: denied: denied by policy /etc/qubes/policy.d/30-user.policy:2',
  'qubes.Gpg: work -> vault: denied: denied by policy /etc/qubes/policy.d/30-user.policy:2', // Qubes' line, the journal took "qrexec:"
  'qrexec: qubes.Filecopy: work -> personal: denied: no matching rule found', // now allowed: CHANGED
  'warning: unrelated line',
  'qrexec: qubes.VMShell: work -> personal: allowed to personal',
  'qrexec: qubes.OpenURL: work -> @dispvm: allowed to @dispvm:default-dvm',
  'qrexec: qubes.Gpg: personal -> : error getting system info: qubesd is down', // Qubes: no target is empty
  'qrexec: qubes.Gpg: personal -> @default: denied: no matching rule found', // ours: the same request
  'qrexec: qubes.Gpg: personal -> vault: denied: denied by policy /etc/qubes/policy.d/30-user.policy:2', // an ask shadowed
  'qrexec: qubes.Nothing: work -> vault: denied: no matching rule found',
  '',
].join('\n');

function setup(t: { testdir: (f: object) => string }) {
  const dir = t.testdir({ 'policy.d': POLICY, 'si.json': JSON.stringify(SYSTEM_INFO), 'qrexec.log': LOG, bin: {} });
  return { dir, std: ['--path', path.join(dir, 'policy.d'), '--system-info', path.join(dir, 'si.json')] };
}

async function why(args: string[], env: NodeJS.ProcessEnv = {}) {
  const c = captureIo(env);
  const status = await umbrellaMain(['why', ...args], c.io);
  return { status, out: c.out, err: c.err };
}

t.test('log lines: ours and Qubes\' wording, wherever they sit in a line', async (t) => {
  t.same(parseLogLine('x y: qrexec: a.B+c: work -> vault: allowed to vault'), { service: 'a.B+c', source: 'work', target: 'vault', outcome: 'allowed', detail: 'vault' });
  t.same(parseLogLine('a.B: work -> : error loading policy: bad line'), { service: 'a.B', source: 'work', target: '', outcome: 'denied', detail: 'error loading policy: bad line' });
  t.equal(parseLogLine('qrexec: a.B: work -> vault: something else'), null);
  t.equal(parseLogLine('warning: qrexec: x'), null);
});

t.test('each request explained with today\'s policy', async (t) => {
  const { dir, std } = setup(t);
  const r = await why([...std, path.join(dir, 'qrexec.log')]);
  t.equal(r.status, 0, r.err);
  t.match(r.out, /^9 decision lines in .*qrexec\.log, 7 distinct requests, explained with today's policy\n/);
  const blocks = r.out.split(/\n(?=\S+ -> )/);
  const block = (head: string) => blocks.find((b) => b.startsWith(head)) ?? t.fail(`no block ${head}`);
  const gpg = String(block('work -> vault  qubes.Gpg  (2 lines)'));
  t.match(gpg, '  logged: denied: denied by policy /etc/qubes/policy.d/30-user.policy:2 (2 times)\n');
  t.match(gpg, `  today:  deny: denied by policy ${path.join(dir, 'policy.d')}/30-user.policy:2\n`);
  t.match(gpg, `  shadowed: ${path.join(dir, 'policy.d')}/30-user.policy:2 denies before ${path.join(dir, 'policy.d')}/50-config-foo.policy:1 could allow\n`);
  t.match(gpg, 'deciding rule:');
  t.notMatch(gpg, 'CHANGED');
  const filecopy = String(block('work -> personal  qubes.Filecopy'));
  t.match(filecopy, 'today:  allow to personal');
  t.match(filecopy, 'CHANGED: the policy decides this request differently today than the log shows');
  t.notMatch(filecopy, 'shadowed');
  t.notMatch(String(block('work -> personal  qubes.VMShell')), /CHANGED|shadowed/);
  const openurl = String(block('work -> @dispvm  qubes.OpenURL'));
  t.match(openurl, 'today:  ask');
  t.match(openurl, '(an ask: the log shows what the user answered)');
  t.match(openurl, /shadowed: .*30-user.policy:3 asks before .*50-config-foo.policy:3 could allow/);
  const none = String(block('personal -> @default  qubes.Gpg  (2 lines)'));
  t.match(none, 'logged: denied: error getting system info: qubesd is down\n  logged: denied: no matching rule found\n');
  t.match(none, 'today:  deny: denied by policy');
  t.notMatch(none, 'shadowed', 'the allow in the other file does not match this request');
  t.match(String(block('personal -> vault  qubes.Gpg')), /shadowed: .*30-user.policy:2 denies before .*50-config-foo.policy:5 could ask/);
  t.match(String(block('work -> vault  qubes.Nothing')), 'today:  deny: no matching rule found');
});

t.test('--summary: per request and per deciding rule, most frequent first', async (t) => {
  const { dir, std } = setup(t);
  const r = await why([...std, '--summary', path.join(dir, 'qrexec.log')]);
  t.equal(r.status, 0);
  const [requests, rules] = r.out.split('\n\n').slice(1);
  t.same(requests!.split('\n').slice(1, 3), [
    '     2  work -> vault  qubes.Gpg  denied: denied by policy /etc/qubes/policy.d/30-user.policy:2',
    '     2  personal -> @default  qubes.Gpg  denied: error getting system info: qubesd is down; denied: no matching rule found',
  ]);
  t.match(rules, /^deciding rules today \(count of logged lines they decide\):\n     5  .*30-user.policy:2  qubes.Gpg \* @anyvm @anyvm deny\n     1  /);
  t.match(rules, '     1  (no rule) deny: no matching rule found');
});

t.test('--journal runs journalctl -o cat (with --since), and says when it fails', async (t) => {
  const { dir, std } = setup(t);
  const record = path.join(dir, 'journalctl.args');
  fs.writeFileSync(path.join(dir, 'bin/journalctl'), `#!/bin/sh\nprintf '%s\\n' "$@" > '${record}'\n[ "$FAIL" = quiet ] && exit 3\n[ -n "$FAIL" ] && { echo "No journal files were found." >&2; exit 1; }\ncat '${path.join(dir, 'qrexec.log')}'\n`, { mode: 0o755 });
  const env = { PATH: `${path.join(dir, 'bin')}:${process.env['PATH']}` };
  const r = await why([...std, '--journal', '--since', '1 hour ago', '--summary'], env);
  t.equal(r.status, 0, r.err);
  t.same(fs.readFileSync(record, 'utf8').split('\n'), ['-o', 'cat', '--no-pager', '--since', '1 hour ago', '']);
  t.match(r.out, '9 decision lines in the journal, 7 distinct requests');
  t.equal((await why([...std, '--journal'], env)).status, 0);
  t.same(fs.readFileSync(record, 'utf8').split('\n'), ['-o', 'cat', '--no-pager', '']);
  const failed = await why([...std, '--journal'], { ...env, FAIL: '1' });
  t.equal(failed.status, 1);
  t.equal(failed.err, 'qrexec-policy why: journalctl -o cat --no-pager failed (exit status 1): No journal files were found.\n');
  t.equal((await why([...std, '--journal'], { ...env, FAIL: 'quiet' })).err, 'qrexec-policy why: journalctl -o cat --no-pager failed (exit status 3)\n');
  const missing = await why([...std, '--journal'], { PATH: path.join(dir, 'nowhere') });
  t.equal(missing.status, 1);
  t.equal(missing.err, 'qrexec-policy why: cannot run journalctl: does not exist\n');
});

t.test('standard input, nothing to explain, unreadable inputs, usage', async (t) => {
  const { dir, std } = setup(t);
  const c = captureIo();
  const args = { path: [path.join(dir, 'policy.d')], systemInfo: path.join(dir, 'si.json'), journal: false, since: undefined, summary: false };
  t.equal(await runWhy({ ...args, file: '-' }, c.io, Readable.from([LOG])), 0);
  t.match(c.out, '9 decision lines in standard input');
  const empty = captureIo();
  t.equal(await runWhy({ ...args, file: undefined }, empty.io, Readable.from(['nothing here\n'])), 0);
  t.equal(empty.out, 'no qrexec decision lines in standard input\n');
  const one = captureIo();
  t.equal(await runWhy({ ...args, file: undefined }, one.io, Readable.from(['qrexec: a.B: work -> vault: allowed to vault\n'])), 0);
  t.match(one.out, /^1 decision line in standard input, 1 distinct request, /);
  t.match((await why([...std, dir])).err, /cannot read .*: is a directory/);
  const missing = await why([...std, path.join(dir, 'nope.log')]);
  t.equal(missing.status, 1);
  t.match(missing.err, /^qrexec-policy why: cannot read .*nope\.log: does not exist\n$/);
  const noSi = await why(['--path', path.join(dir, 'policy.d'), '--system-info', path.join(dir, 'nope.json'), path.join(dir, 'qrexec.log')]);
  t.equal(noSi.status, 4);
  t.match(noSi.err, 'qrexec-policy why: could not decide: cannot read system info');
  t.match((await why([...std, '--since', 'today'])).err, '--since needs --journal');
  t.match((await why([...std, '--journal', 'x.log'])).err, 'give a file or --journal, not both');
});

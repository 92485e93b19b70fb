/**
 * The Policy Admin API services in process (serveCall: what
 * qubes-policy-admin does for one call, without the process around it), on
 * real temporary directories: replies, every refusal and its class, the
 * validation through the loader, what is written (mode, no leftovers), the
 * log line, GetFiles and policy.Eval. The same program as a real process,
 * the token matrix, concurrency and crash safety: process.test.ts.
 */
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { adminContext, serveCall, type CallResult } from '../../src/admin/call.js';
import { describeWrite, SERVICES, splitServiceName, type AdminContext } from '../../src/admin/services.js';
import { overlayFileSource } from '../../src/admin/overlay.js';
import { decodePolicyText } from '../../src/admin/validate.js';
import { tokenOf } from '../../src/admin/token.js';
import { WIRE_CLASSES } from '../../src/admin/errors.js';
import { groupId, TEMP_PREFIX } from '../../src/admin/write.js';
import { memoryFileSource, nodeFileSource } from '../../src/parser/file-source.js';
import { lineLogger } from '../../src/log.js';
import { SYSTEM_INFO } from '../cli/fixtures/cli.js';

interface Dirs {
  root: string;
  policy: string;
  legacy: string;
  log: string;
  si: string;
}

function dirs(t: Test, files: Record<string, unknown> = {}): Dirs {
  const root = t.testdir({ 'policy.d': { include: {}, ...files }, legacy: {}, 'si.json': JSON.stringify(SYSTEM_INFO) });
  return { root, policy: path.join(root, 'policy.d'), legacy: path.join(root, 'legacy'), log: path.join(root, 'admin.log'), si: path.join(root, 'si.json') };
}

interface Call extends CallResult {
  out: string;
  logged: string[];
}

async function call(d: Dirs, service: string, payload: string | Uint8Array = '', extra: Partial<AdminContext> = {}): Promise<Call> {
  const env = { QREXEC_POLICY_DIR: d.policy, QREXEC_POLICY_LEGACY_DIR: d.legacy, QREXEC_POLICY_SYSTEM_INFO: d.si };
  const logged: string[] = [];
  const log = lineLogger('info', [(_l, line) => void logged.push(line)]);
  const r = await serveCall(adminContext(env, extra), service, 'mgmt', typeof payload === 'string' ? Buffer.from(payload) : payload, log, d.log);
  return { ...r, out: Buffer.from(r.stdout).toString('utf8'), logged };
}

const read = (d: Dirs, rel: string) => fs.readFileSync(path.join(d.policy, rel), 'utf8');
const exists = (d: Dirs, rel: string) => fs.existsSync(path.join(d.policy, rel));
/** Everything in the directory tree but the include directory itself. */
const listing = (d: Dirs) =>
  [...fs.readdirSync(d.policy).map((n) => n), ...fs.readdirSync(path.join(d.policy, 'include')).map((n) => 'include/' + n)].filter((n) => n !== 'include').sort();

function refused(t: Test, r: Call, cls: string, message: RegExp) {
  t.equal(r.status, 1, 'refused: exit 1');
  t.equal(r.out, '', 'nothing on stdout');
  t.equal(r.stderr.split(' ')[0], cls);
  t.match(r.stderr.slice(cls.length + 1), message);
  t.notOk(r.stderr.includes('\n'), 'one line');
  t.match(r.logged, [new RegExp(`^warning: .* \\(mgmt\\): refused: ${cls} `)]);
}

// ------------------------------------------------------------------ reading

t.test('List and include.List: the files the loader considers, names only, in byte order', async (t) => {
  const d = dirs(t, {
    '30-user.policy': '',
    '10-b.policy': '',
    '.swap.policy': '',
    README: '',
    'dir.policy': {},
    include: { inc: '', '.hidden': '', sub: {} },
  });
  const r = await call(d, 'policy.List');
  t.same([r.status, r.out, r.stderr], [0, '10-b\n30-user\n', '']);
  t.same(r.logged, ['policy.List (mgmt): 2 files']);
  t.equal((await call(d, 'policy.include.List')).out, 'inc\n');
  // a policy directory without include/: nothing to list
  fs.rmSync(path.join(d.policy, 'include'), { recursive: true });
  t.same([(await call(d, 'policy.include.List')).status, (await call(d, 'policy.include.List')).out], [0, '']);
  t.equal((await call(d, 'policy.List+')).status, 0, 'an empty argument is no argument');
});

t.test('Get and include.Get: the token line, then the exact bytes', async (t) => {
  const text = 'qubes.Gpg * work vault allow\n# no newline at the end';
  const d = dirs(t, { '30-user.policy': text, include: { inc: 'x' } });
  const r = await call(d, 'policy.Get+30-user');
  t.equal(r.status, 0);
  t.equal(r.out, `${tokenOf(Buffer.from(text))}\n${text}`);
  t.match(r.out, /^sha256:[0-9a-f]{64}\n/);
  t.same(r.logged, [`policy.Get+30-user (mgmt): read ${d.policy}/30-user.policy ${tokenOf(Buffer.from(text))}`]);
  t.equal((await call(d, 'policy.include.Get+inc')).out, `${tokenOf(Buffer.from('x'))}\nx`);
  refused(t, await call(d, 'policy.Get+missing'), 'PolicyAdminFileNotFoundException', /^not found: .*missing\.policy$/);
  fs.mkdirSync(path.join(d.policy, 'dir.policy'));
  refused(t, await call(d, 'policy.Get+dir'), 'PolicyAdminFileNotFoundException', /^not found: /);
});

// ------------------------------------------------------------------ protocol

t.test('the call itself: unknown methods, arguments and payloads where none belong', async (t) => {
  const d = dirs(t, { '30-user.policy': '' });
  refused(t, await call(d, 'policy.Frobnicate'), 'PolicyAdminProtocolException', /^unrecognized method: policy\.Frobnicate$/);
  refused(t, await call(d, 'policy.List+x'), 'PolicyAdminProtocolException', /^policy\.List takes no argument$/);
  refused(t, await call(d, 'policy.List', 'payload'), 'PolicyAdminProtocolException', /^policy\.List takes no payload$/);
  refused(t, await call(d, 'policy.Get+30-user', 'x'), 'PolicyAdminProtocolException', /takes no payload/);
  refused(t, await call(d, 'policy.Eval+x', 'a b c'), 'PolicyAdminProtocolException', /takes no argument/);
  refused(t, await call(d, 'policy.Get+a b'), 'PolicyAdminProtocolException', /^invalid argument "a b"/);
  refused(t, await call(d, 'policy.Get+a/b'), 'PolicyAdminProtocolException', /^invalid argument "a\/b"/);
  refused(t, await call(d, 'constructor'), 'PolicyAdminProtocolException', /unrecognized method/);
  t.same(splitServiceName('policy.Get+a+b'), ['policy.Get', 'a+b']);
  t.same([...SERVICES].sort(), [
    'policy.Eval',
    'policy.Get',
    'policy.GetFiles',
    'policy.List',
    'policy.Remove',
    'policy.Replace',
    'policy.include.Get',
    'policy.include.List',
    'policy.include.Remove',
    'policy.include.Replace',
  ]);
});

t.test('bad file names are refused for every method that takes one (the loader would refuse them)', async (t) => {
  const d = dirs(t, { '30-user.policy': '' });
  for (const service of ['policy.Get', 'policy.Replace', 'policy.Remove', 'policy.include.Get', 'policy.include.Replace', 'policy.include.Remove'])
    for (const name of ['Upper', '..', '.hidden', '', 'a.b', 'x+y']) {
      const r = await call(d, `${service}+${name}`, service.endsWith('Get') ? '' : 'any\n');
      refused(t, r, 'PolicyAdminInvalidFileNameException', new RegExp(`^invalid policy file name ${JSON.stringify(JSON.stringify(name)).slice(1, -1).replace(/[.+]/g, '\\$&')}`));
    }
  t.same(listing(d), ['30-user.policy'], 'nothing written');
});

// ------------------------------------------------------------------ changing

t.test('Replace creates and replaces; Remove removes; files are 0664 with no leftovers', async (t) => {
  const d = dirs(t);
  const a = await call(d, 'policy.Replace+30-user', 'new\nqubes.Gpg * work vault allow\n');
  t.same([a.status, a.out, a.stderr], [0, '', '']);
  t.equal(read(d, '30-user.policy'), 'qubes.Gpg * work vault allow\n');
  t.equal(fs.statSync(path.join(d.policy, '30-user.policy')).mode & 0o7777, 0o664);
  t.same(a.logged, [`policy.Replace+30-user (mgmt): created ${d.policy}/30-user.policy (none) -> ${tokenOf(Buffer.from('qubes.Gpg * work vault allow\n'))}`]);
  const tok = tokenOf(Buffer.from('qubes.Gpg * work vault allow\n'));
  const b = await call(d, 'policy.Replace+30-user', `${tok}\n`);
  t.equal(b.status, 0, 'an empty file is a valid policy file');
  t.equal(read(d, '30-user.policy'), '');
  t.same(b.logged, [`policy.Replace+30-user (mgmt): replaced ${d.policy}/30-user.policy ${tok} -> ${tokenOf(Buffer.alloc(0))}`]);
  const c = await call(d, 'policy.Remove+30-user', tokenOf(Buffer.alloc(0)));
  t.equal(c.status, 0);
  t.notOk(exists(d, '30-user.policy'));
  t.same(c.logged, [`policy.Remove+30-user (mgmt): removed ${d.policy}/30-user.policy ${tokenOf(Buffer.alloc(0))} -> (removed)`]);
  t.same(listing(d), [], 'no temporary or lock file');
});

t.test('include files: created in include/ (made like the policy directory when missing), removed, listed', async (t) => {
  const d = dirs(t);
  fs.rmSync(path.join(d.policy, 'include'), { recursive: true });
  fs.chmodSync(d.policy, 0o775);
  t.equal((await call(d, 'policy.include.Replace+inc', 'new\nqubes.X * work vault allow\n')).status, 0);
  t.equal(fs.statSync(path.join(d.policy, 'include')).mode & 0o7777, 0o775);
  t.equal((await call(d, 'policy.include.Replace+inc', 'any\nqubes.X * work vault deny\n')).status, 0, 'and into the include directory that is there');
  t.equal(read(d, 'include/inc'), 'qubes.X * work vault deny\n');
  t.equal((await call(d, 'policy.Replace+20-inc', 'new\n!include include/inc\n')).status, 0);
  // the include can only change into something its includer can read
  refused(t, await call(d, 'policy.include.Replace+inc', 'any\nwork vault allow\n'), 'PolicyAdminSyntaxException', /^change refused, the policy would not load: .*include\/inc:1: wrong number of fields$/);
  refused(t, await call(d, 'policy.include.Remove+inc', 'any'), 'PolicyAdminSyntaxException', /20-inc\.policy:1: not a file: .*include\/inc \(the file this change removes\)$/);
  t.equal(read(d, 'include/inc'), 'qubes.X * work vault deny\n', 'left as it was');
  // read with !include-service, the service-file format is the right one
  t.equal((await call(d, 'policy.Replace+20-inc', 'any\n!include-service qubes.X * include/inc\n')).status, 1, 'not while the include is in the policy format');
  t.equal((await call(d, 'policy.Remove+20-inc', 'any\n')).status, 0, 'a line end after the token is fine');
  t.equal((await call(d, 'policy.include.Remove+inc', 'any')).status, 0, 'nothing includes it any more');
  t.same(listing(d), []);
});

t.test('every refusal leaves the disk as it was: syntax errors, includes, bad UTF-8, the wrong kind of file', async (t) => {
  const d = dirs(t, { '30-user.policy': 'qubes.Gpg * work vault allow\n', include: { svc: 'work vault allow\n' } });
  const before = listing(d).map((n) => [n, read(d, n)]);
  refused(t, await call(d, 'policy.Replace+30-user', 'any\nqubes.Gpg * work\n'), 'PolicyAdminSyntaxException', /30-user\.policy:1: wrong number of fields$/);
  refused(t, await call(d, 'policy.Replace+40-new', 'any\n!include include/missing\n'), 'PolicyAdminSyntaxException', /40-new\.policy:1: not a file: .*include\/missing$/);
  refused(t, await call(d, 'policy.Replace+40-new', 'any\n!include include/svc\n'), 'PolicyAdminSyntaxException', /include\/svc:1: wrong number of fields$/);
  refused(t, await call(d, 'policy.Replace+40-new', 'any\n!compat-4.0 now\n'), 'PolicyAdminSyntaxException', /40-new\.policy:1: invalid number of params$/);
  refused(t, await call(d, 'policy.Replace+30-user', Buffer.from('any\nqubes.A * work vault allow\n# caf\xe9\n', 'latin1')), 'PolicyAdminSyntaxException', /^.*30-user\.policy:2: not valid UTF-8$/);
  refused(t, await call(d, 'policy.Replace+30-user', 'any'), 'PolicyAdminProtocolException', /must start with a token line/);
  refused(t, await call(d, 'policy.Replace+30-user', 'oops\nx'), 'PolicyAdminProtocolException', /^unrecognized token "oops"/);
  // a file the loader would refuse to read, anywhere in the directory, refuses every change
  fs.writeFileSync(path.join(d.policy, 'Bad.policy'), '');
  refused(t, await call(d, 'policy.Replace+40-new', 'any\n'), 'PolicyAdminSyntaxException', /invalid filename: .*Bad\.policy/);
  fs.rmSync(path.join(d.policy, 'Bad.policy'));
  // links and directories are not replaced or removed through the API
  fs.symlinkSync('30-user.policy', path.join(d.policy, '31-link.policy'));
  refused(t, await call(d, 'policy.Replace+31-link', 'any\n'), 'PolicyAdminInvalidFilePathException', /31-link\.policy is not a regular file/);
  refused(t, await call(d, 'policy.Remove+31-link', 'any'), 'PolicyAdminInvalidFilePathException', /not a regular file/);
  t.equal((await call(d, 'policy.Get+31-link')).status, 0, 'but read through');
  fs.rmSync(path.join(d.policy, '31-link.policy'));
  t.same(
    listing(d).map((n) => [n, read(d, n)]),
    before,
  );
});

t.test('tokens, Replace and Remove: match, mismatch, new on an existing file, a digest for a missing one, any', async (t) => {
  const d = dirs(t, { '30-user.policy': 'qubes.A * work vault allow\n' });
  const tok = tokenOf(Buffer.from('qubes.A * work vault allow\n'));
  refused(t, await call(d, 'policy.Replace+30-user', 'new\n'), 'PolicyAdminTokenException', /^30-user exists, but the token is 'new'$/);
  refused(t, await call(d, 'policy.Replace+30-user', `sha256:${'0'.repeat(64)}\n`), 'PolicyAdminTokenException', /^token mismatch: 30-user changed since it was read$/);
  refused(t, await call(d, 'policy.Replace+40-new', `${tok}\n`), 'PolicyAdminTokenException', /^40-new does not exist, but the token is not 'new'$/);
  refused(t, await call(d, 'policy.Remove+30-user', 'new'), 'PolicyAdminTokenException', /exists, but the token is 'new'/);
  refused(t, await call(d, 'policy.Remove+40-new', tok), 'PolicyAdminTokenException', /does not exist/);
  refused(t, await call(d, 'policy.Remove+40-new', 'any'), 'PolicyAdminFileNotFoundException', /^not found: .*40-new\.policy$/);
  refused(t, await call(d, 'policy.Remove+40-new', 'new'), 'PolicyAdminFileNotFoundException', /^not found/);
  refused(t, await call(d, 'policy.Remove+30-user', 'sha256'), 'PolicyAdminProtocolException', /unrecognized token/);
  t.equal(read(d, '30-user.policy'), 'qubes.A * work vault allow\n');
  t.equal((await call(d, 'policy.Replace+30-user', `${tok}\nqubes.A * work vault deny\n`)).status, 0);
  refused(t, await call(d, 'policy.Replace+30-user', `${tok}\nqubes.A * work vault ask\n`), 'PolicyAdminTokenException', /token mismatch/);
  t.equal((await call(d, 'policy.Replace+30-user', 'any\nqubes.A * work vault ask\n')).status, 0);
  t.equal(read(d, '30-user.policy'), 'qubes.A * work vault ask\n');
});

t.test('a write that fails between the durable write and the rename: exit 2, old file intact, no temporary file', async (t) => {
  const d = dirs(t, { '30-user.policy': 'qubes.A * work vault allow\n' });
  const r = await call(d, 'policy.Replace+30-user', 'any\nqubes.A * work vault deny\n', {
    beforeRename: () => {
      throw new Error('disk on fire');
    },
  });
  t.equal(r.status, 2);
  t.equal(r.stderr, `internal error; see ${d.log} in dom0`, 'the caller is not told the details');
  t.match(r.logged, [/^error: policy\.Replace\+30-user \(mgmt\): internal error: disk on fire$/]);
  t.equal(read(d, '30-user.policy'), 'qubes.A * work vault allow\n');
  t.same(listing(d), ['30-user.policy']);
  // leftovers of a killed writer are removed by the next change
  fs.writeFileSync(path.join(d.policy, `${TEMP_PREFIX}0123.tmp`), 'half');
  fs.writeFileSync(path.join(d.policy, 'include', `${TEMP_PREFIX}4567.tmp`), 'half');
  t.equal((await call(d, 'policy.Replace+30-user', 'any\n')).status, 0);
  t.same(listing(d), ['30-user.policy']);
  // a stack in the log only when debugging
  const env = { QREXEC_POLICY_DIR: d.policy, QREXEC_POLICY_LEGACY_DIR: d.legacy, QREXEC_POLICY_DEBUG: '1' };
  const logged: string[] = [];
  const dbg = await serveCall(adminContext(env, { beforeRename: () => { throw new Error('again'); } }), 'policy.Replace+30-user', 'mgmt', Buffer.from('any\n#\n'), lineLogger('info', [(_l, line) => void logged.push(line)]), d.log);
  t.equal(dbg.status, 2);
  t.match(logged[1], /^error: Error: again\n?/);
  // not even an Error
  const odd = await call(d, 'policy.Replace+30-user', 'any\n', { beforeRename: () => { throw 'a string'; } });
  t.same([odd.status, odd.logged], [2, ['error: policy.Replace+30-user (mgmt): internal error: a string']]);
});

t.test('an unusable policy directory: exit 2, nothing said to the caller but where to look', async (t) => {
  const d = dirs(t);
  const gone = { ...d, policy: path.join(d.root, 'nowhere') };
  const l = await call(gone, 'policy.List');
  t.same([l.status, l.stderr], [2, `internal error; see ${d.log} in dom0`]);
  t.match(l.logged, [/ENOENT/]);
  const r = await call(gone, 'policy.Replace+x', 'any\n');
  t.same([r.status, r.stderr], [2, `the policy directory is busy or cannot be locked; see ${d.log} in dom0`]);
  t.match(r.logged, [/cannot lock .*nowhere: does not exist/]);
  // include/ is a file: the service cannot look inside it (not the caller's fault)
  fs.rmSync(path.join(d.policy, 'include'), { recursive: true });
  fs.writeFileSync(path.join(d.policy, 'include'), 'not a directory');
  t.equal((await call(d, 'policy.include.Get+x')).status, 2);
  t.equal((await call(d, 'policy.include.Replace+x', 'any\n')).status, 2);
  const p = await call(d, 'policy.Replace+x', null as unknown as Uint8Array);
  refused(t, p, 'PolicyAdminProtocolException', /^the payload is larger than \d+ bytes$/);
});

// ------------------------------------------------------------------ questions

t.test('GetFiles: the files holding rules for a service, in policy order, as Get names them', async (t) => {
  const d = dirs(t, {
    '10-a.policy': 'test.Svc * work vault deny\nother.Svc * work vault allow\n!include include/inc\n!include-service test.Svc * include/svc\n!include 10-plain\n',
    '10-plain': 'test.Svc * work personal deny\n',
    '20-b.policy': '* * @anyvm @anyvm deny\n!compat-4.0\n',
    '30-c.policy': 'test.Svc * work vault allow\n',
    include: { inc: 'test.Svc +x work vault allow\n', svc: 'work vault allow\n' },
  });
  fs.writeFileSync(path.join(d.legacy, 'test.Svc'), 'work vault allow\n');
  fs.writeFileSync(path.join(d.legacy, 'test.Svc+y'), 'work vault allow\n');
  const r = await call(d, 'policy.GetFiles+test.Svc');
  t.equal(r.status, 0);
  t.equal(r.out, ['10-a', 'include/inc', 'include/svc', path.join(d.policy, '10-plain'), '20-b', path.join(d.legacy, 'test.Svc+y'), path.join(d.legacy, 'test.Svc'), '30-c', ''].join('\n'));
  t.equal((await call(d, 'policy.GetFiles+other.Svc')).out, '10-a\n20-b\n', 'its own rules and the * rules');
  t.equal((await call(d, 'policy.GetFiles+nothing.Here')).out, '20-b\n');
  refused(t, await call(d, 'policy.GetFiles'), 'PolicyAdminProtocolException', /must name a service/);
  refused(t, await call(d, 'policy.GetFiles+a+b'), 'PolicyAdminProtocolException', /has no '\+'/);
  fs.writeFileSync(path.join(d.policy, '40-bad.policy'), 'test.Svc\n');
  refused(t, await call(d, 'policy.GetFiles+test.Svc'), 'PolicyAdminException', /^the policy does not load: .*40-bad\.policy:1: wrong number of fields$/);
});

t.test('policy.Eval: the eval --json decision for one request, with system info from the environment or qubesd', async (t) => {
  const d = dirs(t, { '30-user.policy': 'qubes.Gpg * work vault allow\nqubes.Gpg * @anyvm @anyvm deny\n' });
  const r = await call(d, 'policy.Eval', 'work vault qubes.Gpg\n');
  t.equal(r.status, 0);
  t.match(JSON.parse(r.out), { result: 'allow', service: 'qubes.Gpg', argument: '+', source: 'work', target: 'vault', rule: { file: `${d.policy}/30-user.policy`, line: 1 } });
  t.match(r.logged, ['policy.Eval (mgmt): work -> vault qubes.Gpg: allow']);
  t.match(JSON.parse((await call(d, 'policy.Eval', 'personal @default qubes.Gpg+key')).out), { result: 'deny', argument: '+key', rule: { line: 2 } });
  t.match(JSON.parse((await call(d, 'policy.Eval', 'work vault bad/svc')).out), { result: 'deny', reason: /bad request/ });
  for (const bad of ['', 'work vault', 'work  vault qubes.Gpg', 'a b c d', 'work vault qubes.Gpg\nmore', 'w\u00e9rk vault qubes.Gpg'])
    refused(t, await call(d, 'policy.Eval', bad), 'PolicyAdminProtocolException', /payload must be/);
  // a policy that does not load answers deny, as eval does
  fs.writeFileSync(path.join(d.policy, '40-bad.policy'), 'qubes.Gpg\n');
  t.match(JSON.parse((await call(d, 'policy.Eval', 'work vault qubes.Gpg')).out), { result: 'deny', rule: null, reason: /40-bad\.policy:1/ });
  // no system info: refused, not guessed
  const env = { QREXEC_POLICY_DIR: d.policy, QREXEC_POLICY_LEGACY_DIR: d.legacy, QUBESD_INTERNAL_SOCKET: path.join(d.root, 'no.sock') };
  const logged: string[] = [];
  const n = await serveCall(adminContext(env), 'policy.Eval', 'mgmt', Buffer.from('work vault qubes.Gpg'), lineLogger('info', [(_l, line) => void logged.push(line)]), d.log);
  t.equal(n.status, 1);
  t.match(n.stderr, /^PolicyAdminException cannot decide: no system info: give --system-info FILE or run in dom0 \(cannot talk to qubesd/);
});

// ------------------------------------------------------------------ pieces

t.test('the overlay shows a directory as a change would leave it', async (t) => {
  const base = memoryFileSource({ '/p/a.policy': 'A', '/p/include/x': 'X' }, ['/p']);
  const o = overlayFileSource(base, [
    ['/p/b.policy', 'B'],
    ['/p/a.policy', null],
    ['/p/new/c', 'C'],
  ]);
  t.same(o.list('/p').sort(), ['b.policy', 'include', 'new']);
  t.same([o.kind('/p/a.policy'), o.kind('/p/b.policy'), o.kind('/p/new'), o.kind('/p/include/x'), o.kind('/p/none')], ['missing', 'file', 'dir', 'file', 'missing']);
  t.same(o.list('/p/new'), ['c']);
  t.equal(o.read('/p/b.policy'), 'B');
  t.equal(o.read('/p/include/x'), 'X');
  t.throws(() => o.read('/p/a.policy'), { kind: 'missing', message: /removed by this change/ });
  t.throws(() => o.list('/q'), { kind: 'missing' });
  const big = overlayFileSource(nodeFileSource, [['/tmp/qp-big', 'x'.repeat(16 * 1024 * 1024 + 1)]]);
  t.throws(() => big.read('/tmp/qp-big'), { kind: 'too-large' });
  t.equal(big.resolve('/tmp/../tmp/qp-big'), '/tmp/qp-big');
});

t.test('strict UTF-8 with the line of the first bad byte', async (t) => {
  t.same(decodePolicyText(Buffer.from('a\nb\n')), { text: 'a\nb\n' });
  t.same(decodePolicyText(Buffer.from([0x61, 0x0a, 0x62, 0x0a, 0xc3, 0x28])), { badLine: 3 });
  t.same(decodePolicyText(Buffer.from([0xff])), { badLine: 1 });
  t.same(decodePolicyText(Buffer.from('\ufeffx')), { text: '\ufeffx' }, 'a BOM stays');
});

t.test('the group of written files, from /etc/group', async (t) => {
  const dir = t.testdir({ group: 'root:x:0:\nqubes:x:98:user\nbad:x:nope:\n' });
  t.equal(groupId('qubes', path.join(dir, 'group')), 98);
  t.equal(groupId('bad', path.join(dir, 'group')), null);
  t.equal(groupId('nope', path.join(dir, 'group')), null);
  t.equal(groupId('qubes', path.join(dir, 'missing')), null);
  // a group this (root) process may give files to: they get it
  const d = dirs(t);
  const env = { QREXEC_POLICY_DIR: d.policy, QREXEC_POLICY_LEGACY_DIR: d.legacy };
  const r = await serveCall({ ...adminContext(env), gid: 12345 }, 'policy.Replace+x', 'mgmt', Buffer.from('new\n'), lineLogger('error', []), d.log);
  t.equal(r.status, 0);
  const st = fs.statSync(path.join(d.policy, 'x.policy'));
  if (process.geteuid?.() === 0) t.equal(st.gid, 12345);
  else t.equal(st.gid, process.getegid?.(), 'not root: the file keeps the writer\'s group');
});

t.test('the wire classes and the write log line', async (t) => {
  for (const [name, cls] of Object.entries(WIRE_CLASSES)) t.equal(new cls('m').wireName, name);
  t.equal(describeWrite({ path: '/p/x', data: Buffer.from('a'), before: null }), `created /p/x (none) -> ${tokenOf(Buffer.from('a'))}`);
});

t.test('contrib/policy.d grants policy.Eval exactly as the read services are granted (a real tree)', async (t) => {
  const tree = path.resolve(import.meta.dirname, '../../../shared/realworld/trees/r43-desktop');
  if (!fs.existsSync(tree)) return t.skip('no real-world trees');
  const { PolicyLoader } = await import('../../src/parser/loader.js');
  const { Policy } = await import('../../src/policy/policy.js');
  const { evaluate } = await import('../../src/policy/evaluate.js');
  const { readSystemInfoFile } = await import('../../src/io/sources.js');
  const contrib = fs.readFileSync(path.resolve(import.meta.dirname, '../../contrib/policy.d/90-admin-policy-eval.policy'), 'utf8');
  const si = readSystemInfoFile(path.join(tree, 'system-info.json'));
  const manager = [...si.qubes.keys()].find((n) => n !== 'dom0')!;
  // the shipped grants are empty: give one qube the right to read the policy, as an administrator would
  const fs2 = overlayFileSource(nodeFileSource, [
    [path.join(tree, 'policy.d/90-admin-policy-eval.policy'), contrib],
    [path.join(tree, 'policy.d/include/admin-policy-rwx'), `${manager} @adminvm allow target=dom0\n`],
  ]);
  const loader = new PolicyLoader({ fs: fs2, legacyPath: path.join(tree, 'legacy') });
  loader.loadDirs([path.join(tree, 'policy.d')]);
  const { rules, errors, ...rest } = loader.result;
  const policy = new Policy(rules, errors, rest);
  t.equal(policy.error, null, 'the tree loads with it');
  let allowed = 0;
  for (const source of si.qubes.keys())
    for (const target of ['dom0', '@adminvm', '@default']) {
      const get = evaluate(policy, si, { source, target, service: 'policy.Get+30-user' });
      const ev = evaluate(policy, si, { source, target, service: 'policy.Eval' });
      t.equal(ev.result, get.result, `${source} -> ${target}`);
      if (ev.result === 'allow') allowed++;
    }
  t.equal(allowed, 2, `${manager} may ask, to dom0 and @adminvm`);
});

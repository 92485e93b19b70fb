/**
 * `qubes-policy-editor`, driven by a scripted $EDITOR (fixtures/fake-editor.mjs)
 * and scripted answers: the report (lint findings, what the edit changes),
 * edit again / save / quit, the original token on save (a change made
 * meanwhile is refused), and the edited text kept, with its path said, on
 * every way out but a save. In dom0 (served in process) and from a qube
 * (through the fake qrexec-client-vm and the real qubes-policy-admin).
 * The bundle once as a real process, answers on its stdin.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { editorCommand, readLine, runEditor, terminalAsk, type EditorArgs } from '../../src/admin/editor-cli.js';
import { standaloneMain } from '../../src/cli/standalone.js';
import { command } from '../../src/cli/commands/qubes-policy-editor.js';
import { captureIo, SYSTEM_INFO } from '../cli/fixtures/cli.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const EDITOR = `${process.execPath} ${path.join(ROOT, 'test/admin/fixtures/fake-editor.mjs')}`;
const FAKE_VM = path.join(ROOT, 'test/admin/fixtures/fake-qrexec-client-vm');
const BIN = path.join(ROOT, 'dist/bin/qubes-policy-editor.js');

const USER = 'qubes.Gpg * work vault deny\nqubes.Gpg * @anyvm @anyvm deny\n';

interface Setup {
  root: string;
  policy: string;
  env: NodeJS.ProcessEnv;
  si: string;
}

function setup(t: Test, files: Record<string, unknown> = { '30-user.policy': USER }, steps: unknown[] = []): Setup {
  const root = t.testdir({ 'policy.d': { include: {}, ...files }, legacy: {}, 'si.json': JSON.stringify(SYSTEM_INFO) });
  const policy = path.join(root, 'policy.d');
  return {
    root,
    policy,
    si: path.join(root, 'si.json'),
    env: {
      PATH: process.env['PATH'],
      QREXEC_POLICY_DIR: policy,
      QREXEC_POLICY_LEGACY_DIR: path.join(root, 'legacy'),
      QREXEC_POLICY_ADMIN_LOG: path.join(root, 'admin.log'),
      EDITOR,
      FAKE_EDITOR_STEPS: JSON.stringify(steps),
      FAKE_EDITOR_STATE: path.join(root, 'editor-state'),
      FAKE_QREXEC_VM_LOG: path.join(root, 'vm.log'),
    },
  };
}

interface EditRun {
  status: number;
  out: string;
  err: string;
  prompts: string[];
  /** The path the editor was given on its first run. */
  file: string;
}

async function edit(s: Setup, answers: string[], args: Partial<EditorArgs> = {}, opts: { onAsk?: () => void; env?: NodeJS.ProcessEnv } = {}): Promise<EditRun> {
  const c = captureIo({ ...s.env, ...opts.env });
  const prompts: string[] = [];
  const status = await runEditor(
    { name: undefined, systemInfo: s.si, qubesdInternalSocket: undefined, qrexecClientVm: undefined, ...args },
    {
      ...c.io,
      ask: (p) => {
        prompts.push(p);
        opts.onAsk?.();
        return answers.shift() ?? null;
      },
    },
  );
  const log = path.join(s.root, 'editor-state.log');
  // the editor's last run is this edit's
  const file = fs.existsSync(log) ? (JSON.parse(fs.readFileSync(log, 'utf8').trimEnd().split('\n').at(-1)!) as { argv: string[] }).argv.at(-1)! : '';
  return { status, out: c.out, err: c.err, prompts, file };
}

const SAVE = '(e)dit again, (s)ave, (q)uit? ';
const BLOCKED = '(e)dit again, (q)uit without saving? ';

t.test('edit, see what it changes, save: with the token it was read with; the temporary file goes', async (t) => {
  const s = setup(t, undefined, [USER.replace('vault deny', 'vault allow')]);
  const r = await edit(s, ['s']);
  t.equal(r.status, 0);
  t.same(r.prompts, [SAVE]);
  t.equal(
    r.out,
    [
      'what this edit changes:',
      `30-user.policy:1: qubes.Gpg * work vault allow`.replace(/^/, `${s.policy}/`),
      '  newly allowed: work -> vault qubes.Gpg (deny => allow to vault)',
      '  1 request: 1 newly allowed',
      '',
      '1 request changed: 1 newly allowed',
      '30-user saved',
      '',
    ].join('\n'),
  );
  t.equal(r.err, '');
  t.equal(fs.readFileSync(path.join(s.policy, '30-user.policy'), 'utf8'), USER.replace('vault deny', 'vault allow'));
  t.match(r.file, /\/qubes-policy-editor-[^/]+\/30-user\.policy$/, 'a named file, with the suffix editors know');
  t.notOk(fs.existsSync(path.dirname(r.file)), 'removed after the save');
  t.match(fs.readFileSync(s.env['QREXEC_POLICY_ADMIN_LOG']!, 'utf8'), /policy\.Replace\+30-user \(dom0\): replaced /);
});

t.test('a broken edit cannot be saved: its errors, edit again, then save', async (t) => {
  const s = setup(t, undefined, ['qubes.Gpg * work vault alow\n', 'qubes.Gpg * work vault allow\n']);
  const r = await edit(s, ['s', 'e', 's']);
  t.equal(r.status, 0);
  t.same(r.prompts, [BLOCKED, BLOCKED, SAVE], 'save is not offered, and not taken, while it is broken');
  t.match(r.out, /^30-user\.policy:1:24: error: invalid action: alow \[action\]\nthe policy would not load with this edit: it cannot be saved\n/);
  t.match(r.out, /newly allowed: work -> vault qubes\.Gpg/);
  t.equal(fs.readFileSync(path.join(s.policy, '30-user.policy'), 'utf8'), 'qubes.Gpg * work vault allow\n');
  const log = fs.readFileSync(path.join(s.root, 'editor-state.log'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { before: string });
  t.same(log.map((l) => l.before), [USER, 'qubes.Gpg * work vault alow\n'], 'edit again starts from the edited text');
});

t.test('quit, end of input, an editor that fails or is missing: the text is kept and its place said', async (t) => {
  const s = setup(t, undefined, ['qubes.Gpg * work vault ask\n']);
  const q = await edit(s, ['q']);
  t.equal(q.status, 0);
  t.match(q.err, /^qubes-policy-editor: not saved; your text is in (\S+)\n$/);
  t.equal(fs.readFileSync(q.err.split(' ').at(-1)!.trim(), 'utf8'), 'qubes.Gpg * work vault ask\n');
  t.equal(fs.readFileSync(path.join(s.policy, '30-user.policy'), 'utf8'), USER, 'nothing written');

  const e = setup(t, undefined, ['x', 'y']);
  const eof = await edit(e, ['maybe']);
  t.same([eof.status, eof.prompts], [0, [BLOCKED, BLOCKED]], 'an unknown answer is asked again; the end of input quits');
  t.match(eof.err, /not saved; your text is in /);

  const f = setup(t, undefined, [{ exit: 3 }]);
  const fails = await edit(f, ['s']);
  t.equal(fails.status, 1);
  t.match(fails.err, /^qubes-policy-editor: the editor exited with status 3; your text is in \S+30-user\.policy\n$/);
  t.same(fails.prompts, []);

  const k = setup(t, undefined, [{ signal: 'SIGTERM' }]);
  const killed = await edit(k, []);
  t.equal(killed.status, 1);
  t.match(killed.err, /^qubes-policy-editor: the editor exited with signal SIGTERM; your text is in /);

  const m = setup(t);
  const missing = await edit(m, [], {}, { env: { EDITOR: path.join(m.root, 'no-editor') } });
  t.equal(missing.status, 1);
  t.match(missing.err, /^qubes-policy-editor: cannot run the editor .*no-editor: does not exist; your text is in /);

  const u = setup(t, undefined, [{ keep: true }]);
  const same = await edit(u, []);
  t.same([same.status, same.out, same.prompts], [0, '30-user: no changes\n', []]);
  t.notOk(fs.existsSync(path.dirname(same.file)), 'nothing to keep');
});

t.test('a change made meanwhile: the save is refused, not overwritten', async (t) => {
  const s = setup(t, undefined, [USER.replace('vault deny', 'vault allow')]);
  const r = await edit(s, ['s'], {}, { onAsk: () => fs.writeFileSync(path.join(s.policy, '30-user.policy'), '# someone else\n') });
  t.equal(r.status, 1);
  t.match(r.err, /^qubes-policy-editor: not saved: token mismatch: 30-user changed since it was read \(PolicyAdminTokenException\); your text is in \S+\n$/);
  t.equal(fs.readFileSync(path.join(s.policy, '30-user.policy'), 'utf8'), '# someone else\n');
  t.ok(fs.existsSync(r.file));
});

t.test('new files, include files, bad bytes, findings the edit brings elsewhere', async (t) => {
  const s = setup(t, { '30-user.policy': 'qubes.Gpg * work vault deny\n', '90-default.policy': 'qubes.Gpg * personal vault allow\n# lint: ignore nothing\n' }, [
    'qubes.Gpg * @anyvm vault deny\n',
    { bytes: Buffer.from([0x23, 0x20, 0xff, 0x0a]).toString('base64') },
    'qubes.X * work personal allow\n',
  ]);
  // a new file: created with the token 'new'
  const n = await edit(s, ['s'], { name: '20-new' });
  t.equal(n.status, 0);
  t.match(n.out, /^30-user\.policy:1:1: warning: shadowed: 20-new\.policy:1 matches every request this rule matches, so it can never decide \[shadowed\]\n90-default\.policy:1:1: warning: shadowed: /, 'the rules it now shadows, in other files');
  t.notMatch(n.out, /lint-ignore/, 'but not what was already there');
  t.match(n.out, /newly denied: personal -> vault qubes\.Gpg \(allow to vault => deny\)/);
  t.equal(fs.readFileSync(path.join(s.policy, '20-new.policy'), 'utf8'), 'qubes.Gpg * @anyvm vault deny\n');
  // bad bytes: shown with the line, never saved
  const b = await edit(s, ['s', 'q'], { name: '20-new.policy' });
  t.equal(b.status, 0);
  t.match(b.out, /20-new\.policy:1: not valid UTF-8\n/);
  t.same(b.prompts, [BLOCKED, BLOCKED]);
  // an include file nothing includes yet
  const i = await edit(s, ['s'], { name: 'include/extra' });
  t.equal(i.status, 0);
  t.match(i.out, /this edit changes no decision\n/);
  t.match(i.file, /\/include-extra$/);
  t.equal(fs.readFileSync(path.join(s.policy, 'include/extra'), 'utf8'), 'qubes.X * work personal allow\n');
  t.same((await edit(s, [], { name: 'Bad/name' })).status, 2);
});

t.test('no system info, or a policy that does not load before the edit: no comparison, said so', async (t) => {
  const s = setup(t, { '30-user.policy': 'qubes.Gpg * work\n' }, ['qubes.Gpg * work vault allow\n', 'qubes.Gpg * work vault deny\n']);
  const fixed = await edit(s, ['q']);
  t.match(fixed.out, /^the policy does not load now \(.*30-user\.policy:1: wrong number of fields\): nothing to compare with\n$/);
  const none = await edit(s, ['s'], { systemInfo: undefined }, { env: { QUBESD_INTERNAL_SOCKET: path.join(s.root, 'no.sock') } });
  t.equal(none.status, 0, 'saved: fixing the policy needs no comparison');
  t.match(none.err, /^qubes-policy-editor: no system info: give --system-info FILE or run in dom0 \(.*\); cannot show what an edit changes\n/);
  t.match(none.out, /^no system info \(give --system-info FILE\): cannot show what this edit changes\n/);
});

t.test('from a qube: the policy fetched through the API, saved through it', async (t) => {
  const s = setup(t, { '30-user.policy': USER, include: { inc: '# nothing\n' } }, [USER.replace('work vault deny', 'work vault allow'), 'qubes.Gpg * work vault ask\n']);
  const r = await edit(s, ['s'], { qrexecClientVm: FAKE_VM });
  t.equal(r.status, 0);
  t.match(r.out, /^what this edit changes:\n\/etc\/qubes\/policy\.d\/30-user\.policy:1: qubes\.Gpg \* work vault allow\n  newly allowed: work -> vault qubes\.Gpg/);
  t.match(r.out, /\(from a qube: R4\.0 files of !compat-4\.0 and the runtime directory are not visible, and are left out\)\n30-user saved\n$/);
  const calls = fs.readFileSync(s.env['FAKE_QREXEC_VM_LOG']!, 'utf8').trimEnd().split('\n').map((l) => l.split('\t')[2]);
  t.same(calls, ['policy.Get+30-user', 'policy.List', 'policy.Get+30-user', 'policy.include.List', 'policy.include.Get+inc', 'policy.Replace+30-user']);
  t.match(fs.readFileSync(s.env['QREXEC_POLICY_ADMIN_LOG']!, 'utf8'), /policy\.Replace\+30-user \(mgmt\): replaced/);
  // no system info from a qube: no qubesd to ask
  const n = await edit(s, ['q'], { qrexecClientVm: FAKE_VM, systemInfo: undefined });
  t.match(n.out, /^no system info \(give --system-info FILE\)/);
  t.equal(n.err.split('\n').length, 2, 'no error about qubesd');
});

t.test('from a qube that may not list the policy: the service checks the edit on save', async (t) => {
  const s = setup(t, undefined, ['qubes.Gpg * work vault alow\n']);
  const r = await edit(s, ['s'], { qrexecClientVm: FAKE_VM }, { env: { FAKE_QREXEC_VM_REFUSE: 'policy.List' } });
  t.equal(r.status, 1);
  t.match(r.out, /^\(the policy cannot be read from here: the service will check the edit when it is saved\)\n$/);
  t.match(r.err, /not saved: change refused, the policy would not load: .*30-user\.policy:1: invalid action: alow \(PolicyAdminSyntaxException\); your text is in /);
  const g = await edit(s, [], { qrexecClientVm: FAKE_VM }, { env: { FAKE_QREXEC_VM_REFUSE: '1' } });
  t.same([g.status, g.err], [1, 'qubes-policy-editor: cannot get 30-user: policy.Get+30-user failed (exit status 126): Request refused\n']);
});

t.test('answers: one line at a time from a descriptor, the question on stderr', async (t) => {
  const dir = t.testdir({ answers: 'x\ns\nlast' });
  const fd = fs.openSync(path.join(dir, 'answers'), 'r');
  const said: string[] = [];
  const ask = terminalAsk((s) => void said.push(s), fd);
  t.same([ask('1? '), ask('2? '), ask('3? '), ask('4? ')], ['x', 's', 'last', null]);
  t.same(said, ['1? ', '2? ', '3? ', '4? ']);
  fs.closeSync(fd);
  t.throws(() => readLine(fd), { code: 'EBADF' });
});

t.test('$VISUAL, then $EDITOR, then vi; words, not a shell', async (t) => {
  t.same(editorCommand({ VISUAL: 'code --wait', EDITOR: 'nano' }), ['code', '--wait']);
  t.same(editorCommand({ EDITOR: ' nano  -w ' }), ['nano', '-w']);
  t.same(editorCommand({ EDITOR: '   ' }), ['vi']);
  t.same(editorCommand({}), ['vi']);
  t.same(editorCommand({ EDITOR: 'vi $(touch /tmp/x)' }), ['vi', '$(touch', '/tmp/x)'], 'handed over as words, never run');
});

t.test('the real argument parser, and the bundle as a real process with answers on its stdin', async (t) => {
  const s = setup(t, undefined, ['qubes.Gpg * work vault allow\n']);
  const c = captureIo(s.env);
  t.equal(await standaloneMain('qubes-policy-editor', command, ['--help'], c.io), 0);
  t.match(c.out, /^usage: qubes-policy-editor \[include\/\]NAME \[options\]/);
  for (const o of ['--system-info', '--qrexec-client-vm', 'exit status']) t.ok(c.out.includes(o), o);
  const bad = captureIo(s.env);
  t.equal(await standaloneMain('qubes-policy-editor', command, ['a', 'b'], bad.io), 2);
  t.match(bad.err, /unexpected argument "b"/);
  // through the parser to the end, without a question: the editor changed nothing
  const same = captureIo({ ...s.env, FAKE_EDITOR_STEPS: JSON.stringify([{ keep: true }]) });
  t.equal(await standaloneMain('qubes-policy-editor', command, ['--system-info', s.si, '30-user'], same.io), 0);
  t.equal(same.out, '30-user: no changes\n');
  fs.rmSync(s.env['FAKE_EDITOR_STATE']!);
  if (!fs.existsSync(BIN)) return t.fail('dist/bin is missing: run `npm run build`');
  const r = spawnSync(process.execPath, [BIN, '--system-info', s.si, '30-user'], { input: 'x\ns\n', encoding: 'utf8', env: s.env });
  t.equal(r.status, 0);
  t.match(r.stdout, /newly allowed: work -> vault qubes\.Gpg[\s\S]*30-user saved\n$/);
  t.equal(r.stderr, `${SAVE}${SAVE}`, 'asked on stderr, again after an unknown answer');
  t.equal(fs.readFileSync(path.join(s.policy, '30-user.policy'), 'utf8'), 'qubes.Gpg * work vault allow\n');
});

/**
 * The other policy CI tools: the `qubes-policy-lint` drop-in (the
 * reference's arguments, output lines and exit codes), `qrexec-policy fmt`
 * (never changes what the parser reads) and `qrexec-policy test` (including
 * the example cases of policy.d-examples/tests, with full rule coverage).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { FileSourceError, memoryFileSource, nodeFileSource, type FileSource } from '../../src/parser/file-source.js';
import { loadPolicy } from '../../src/parser/loader.js';
import { checkLine, purePosix } from '../../src/lint/dropin-line.js';
import { dropinMain, parseArgs, readInput, type DropinIo } from '../../src/lint/dropin-cli.js';
import { formatText } from '../../src/fmt/format.js';
import { unifiedDiff } from '../../src/fmt/diff.js';
import { runFmt, writeAtomically, type FmtArgs, type FmtEnv } from '../../src/fmt/cli.js';
import { expectationText, parseCases, parseJsonCases, parseTextCases } from '../../src/policytest/cases.js';
import { actualText, meets } from '../../src/policytest/run.js';
import { runTest, type TestArgs } from '../../src/policytest/cli.js';
import { umbrellaMain } from '../../src/cli/umbrella.js';
import { BIN, captureIo, run } from '../cli/fixtures/cli.js';
import { decide } from '../helpers/policy.js';

const ROOT = fs.realpathSync(fileURLToPath(new URL('../..', import.meta.url)));
const EXAMPLES = path.join(ROOT, 'policy.d-examples');
const REALWORLD = path.resolve(ROOT, '../shared/realworld/trees');

// ------------------------------------------------------------ qubes-policy-lint

function dropin(argv: string[], files: Record<string, string | Error>) {
  let out = '';
  let err = '';
  const reads: string[] = [];
  const io: DropinIo = {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    read: (f) => {
      reads.push(f);
      const v = files[f];
      if (v === undefined) throw new FileSourceError(f, 'does not exist', 'missing');
      if (v instanceof Error) throw v;
      return v;
    },
  };
  const status = dropinMain(argv, io);
  return { status, out, err, reads };
}

t.test('qubes-policy-lint: arguments as argparse reads them', async (t) => {
  t.same(parseArgs(['-s', 'a', 'b']), { help: false, show: true, includeService: false, files: ['a', 'b'], unknown: [] });
  t.same(parseArgs(['-si', '--', '-x', '-']), { help: false, show: true, includeService: true, files: ['-x', '-'], unknown: [] });
  t.same(parseArgs(['--show', '--incl', 'a']).show, true, 'long options may be abbreviated');
  t.same(parseArgs(['--s', 'a']).show, true);
  t.same(parseArgs(['--show-line', '--include-service', 'a']).includeService, true);
  t.same(parseArgs(['a', '-s', 'b']).unknown, ['b'], 'FILE is one run of arguments');
  t.same(parseArgs(['-x', '--bogus', '-sz', 'a']).unknown, ['-x', '--bogus', '-sz']);
  t.equal(parseArgs(['-sh']).help, true);
  t.equal(parseArgs(['--he']).help, true);

  let r = dropin(['--help'], {});
  t.equal(r.status, 0);
  t.match(r.out, /^usage: qubes-policy-lint \[-h\] \[-s\] \[-i\] FILE \[FILE \.\.\.\]\n\npositional arguments:/);
  t.match(r.out, /-i, --include-service\n/);
  r = dropin([], {});
  t.equal(r.status, 2);
  t.equal(r.err, 'usage: qubes-policy-lint [-h] [-s] [-i] FILE [FILE ...]\nqubes-policy-lint: error: the following arguments are required: FILE\n');
  r = dropin(['-x', 'a'], { a: '' });
  t.equal(r.status, 2);
  t.match(r.err, /error: unrecognized arguments: -x\n$/);
  t.same(r.reads, [], 'nothing is read on a usage error');
});

t.test('qubes-policy-lint: output lines and exit codes', async (t) => {
  const bad = ['# comment', '', 'qubes.Filecopy * work personal allow', 'qubes.Filecopy * work', '  qubes.Foo * @bogus vault allow  ', 'x * a b allow target=@anyvm'].join('\n');
  let r = dropin(['bad.policy', 'good.policy'], { 'bad.policy': bad, 'good.policy': '' });
  t.equal(r.status, 1);
  t.equal(
    r.out,
    "bad.policy:4: error: wrong number of fields\nbad.policy:5: error: invalid source token: '@bogus'\nbad.policy:6: error: invalid redirect token: '@anyvm'\n",
  );
  t.same(r.reads, ['bad.policy'], 'like the reference, it stops after the first file with errors');
  r = dropin(['-s', 'bad.policy'], { 'bad.policy': bad });
  t.match(r.out, /^bad\.policy:4: error: wrong number of fields: qubes\.Filecopy \* work\nbad\.policy:5: error: invalid source token: '@bogus': qubes\.Foo \* @bogus vault allow\n/);
  r = dropin(['good.policy', 'other.policy'], { 'good.policy': 'qubes.Foo * @anyvm @anyvm deny\r\n', 'other.policy': '' });
  t.equal(r.status, 0);
  t.equal(r.out, '');
  t.same(r.reads, ['good.policy', 'other.policy']);
  r = dropin(['gone.policy', 'good.policy'], { 'good.policy': '' });
  t.equal(r.status, 1);
  t.equal(r.out, 'gone.policy:0: error: File does not exist.\n');
  t.same(r.reads, ['gone.policy'], 'and stops');
  r = dropin(['dir.policy'], { 'dir.policy': new FileSourceError('dir.policy', 'is a directory', 'io') });
  t.equal(r.status, 1);
  t.equal(r.out, '');
  t.equal(r.err, 'qubes-policy-lint: dir.policy: is a directory\n', 'where the reference crashes: one line');
  // files split lines at \r too; standard input only at \n (and a \r is then whitespace)
  r = dropin(['f', '-'], { f: 'qubes.Foo * a b allow\rbad line\n', '-': 'qubes.Foo * a b\rallow\nbad\r\n' });
  t.equal(r.out, 'f:2: error: wrong number of fields\n');
  r = dropin(['-'], { '-': 'qubes.Foo * a b\rallow\nbad\r\n' });
  t.equal(r.out, '-:2: error: wrong number of fields\n');
  t.equal(dropin(['-'], { '-': '\ufeffqubes.Foo * a b allow\n' }).out, "-:1: error: service '\\ufeffqubes.Foo' contains invalid characters: ('\\ufeff',)\n", 'a BOM is part of the line');
  // an empty target= / default_target=: the reference's linter reports it (it used to pass here)
  r = dropin(['e.policy'], { 'e.policy': 'x * a b allow target=\nx * a b ask default_target=\n' });
  t.equal(r.status, 1);
  t.equal(r.out, 'e.policy:1: error: invalid empty redirect token\ne.policy:2: error: invalid empty redirect token\n');
  r = dropin(['-i', 's'], { s: '$anyvm $anyvm allow,target=\n' });
  t.equal(r.out, 's:1: error: invalid empty redirect token\n', 'the service-file format too');
});

t.test('qubes-policy-lint: directives, as the reference checks them without following includes', async (t) => {
  const msg = (line: string, i = false) => checkLine(line, i)?.message ?? null;
  t.equal(msg('!include include/x'), null, 'the included path is an empty file');
  t.equal(msg('!include ./x'), "no such policy file: 'x'", 'the path is looked up as Python normalises it');
  t.equal(msg('!include __main__'), null);
  t.equal(msg('!include ./__main__'), 'include cycle');
  t.equal(msg('!include a/b/c'), 'invalid path a/b/c, only paths inside the directories /etc/qubes/policy.d and /etc/qubes/policy.d/include are considered');
  t.equal(msg('!include /etc/qubes/policy.d/x'), 'invalid path /etc/qubes/policy.d/x, only paths inside the directories /etc/qubes/policy.d and /etc/qubes/policy.d/include are considered');
  t.equal(msg('!include a b'), 'invalid number of params');
  t.equal(msg('!include-dir x'), null, 'not checked');
  t.same(checkLine('!include-dir x y', false), { message: 'invalid number of params', own: true });
  t.equal(msg('!include-service qubes.Foo * include/x'), null);
  t.equal(msg('!include-service qubes.Foo *'), 'invalid number of params');
  t.equal(msg('!include-service bad! * ../x'), 'invalid path ../x, only paths inside the directories /etc/qubes/policy.d and /etc/qubes/policy.d/include are considered', 'the path first');
  t.equal(msg('!include-service bad! * x'), "service 'bad!' contains invalid characters: ('!',)", 'then the service');
  t.equal(msg('!include-service * +a x'), 'only * argument allowed for * service');
  t.equal(msg('!compat-4.0'), null);
  t.equal(msg('!compat-4.0 x'), 'invalid number of params');
  t.equal(msg('!bogus'), 'invalid directive');
  let warned = '';
  checkLine('!compat-4.0', false, (s) => void (warned += s));
  t.equal(warned, 'WARNING:root:warning: !compat-4.0 directive in file __main__[in-memory] line 1 is transitional and will be deprecated\n');
  // -i: the line is a service file included as `!include-service * * inc`
  t.equal(msg('work vault allow', true), null);
  t.equal(msg('$anyvm $anyvm allow,target=dom0', true), null);
  t.equal(msg('work vault', true), 'wrong number of fields');
  t.equal(msg('work vault allow target=@anyvm', true), "invalid redirect token: '@anyvm'");
  t.equal(msg('!include x', true), null);
  t.equal(msg('$include:x', true), "no such policy file: 'x'", 'the reference never picks the path from $include:');
  t.equal(msg('!include a b', true), 'invalid number of params');
  t.equal(msg('!include include/a/b', true), 'invalid path include/a/b, only paths inside the directories /etc/qubes/policy.d and /etc/qubes/policy.d/include are considered');
  t.equal(msg('!compat-4.0', true), 'invalid directive');
  t.equal(msg('!include-service svc * inc', true), null, 'the empty file replaces the line itself');
  t.equal(msg('!include-service svc * x', true), 'invalid directive');
  t.equal(msg('!include __main__', true), null, 'nothing is parsed at all');
  t.equal(msg('$include:inc', true), 'include cycle');
  t.equal(msg('!include-dir x', true), null);
  // Python's str(PurePosixPath(...))
  t.equal(purePosix('//a'), '//a');
  t.equal(purePosix('///a//b/'), '/a/b');
  t.equal(purePosix('a/./b/.'), 'a/b');
  t.equal(purePosix('a/../b'), 'a/../b');
  t.equal(purePosix('./'), '.');
  // the linter's own message is formatted with the file's path (colons and all)
  const r = dropin(['a:b.policy'], { 'a:b.policy': '# x\n!include-dir\n' });
  t.equal(r.out, 'a:b.policy:2: error:2: invalid number of params\n');
  t.equal(dropin([''], { '': '!include-dir\n' }).out, ':1: error: invalid number of params\n', 'an empty path is <unknown>');
});

t.test('qubes-policy-lint: reading files and standard input', async (t) => {
  const dir = t.testdir({ 'a.policy': 'qubes.Foo * a b allow\n' });
  t.equal(readInput(path.join(dir, 'a.policy'), () => Buffer.from('')), 'qubes.Foo * a b allow\n');
  t.equal(readInput('-', () => Buffer.from('x\n')), 'x\n');
  t.throws(() => readInput('-', () => Buffer.from([0xff])), { kind: 'encoding', message: '<stdin>: not valid UTF-8' });
  const r = run(BIN.lint, ['-s', path.join(dir, 'a.policy'), '-'], { input: 'qubes.Foo * a\n' });
  t.equal(r.status, 1, 'the bundled command');
  t.equal(r.stdout, '-:1: error: wrong number of fields: qubes.Foo * a\n');
  t.equal(r.stderr, '');
});

// ------------------------------------------------------------ fmt

t.test('fmt: formatting', async (t) => {
  const input = [
    '# header comment   ',
    'qubes.Gpg\t*  @anyvm vault   ask default_target=vault',
    '   qubes.GpgImportKey * @tag:gpg-client vault allow autostart=no notify=yes',
    '   # indented comment',
    'qubes.Gpg * @anyvm @anyvm deny',
    '',
    '!include    include/x',
    'x * a b allow',
    '',
    '',
  ].join('\r\n');
  const r = formatText(input, 'f', 'policy');
  t.same(r, {
    ok: true,
    text: [
      '# header comment',
      'qubes.Gpg           *  @anyvm           vault   ask    default_target=vault',
      'qubes.GpgImportKey  *  @tag:gpg-client  vault   allow  autostart=no notify=yes',
      '# indented comment',
      'qubes.Gpg           *  @anyvm           @anyvm  deny',
      '',
      '!include include/x',
      'x  *  a  b  allow',
      '',
    ].join('\n'),
  });
  t.same(formatText(r.ok ? r.text : '', 'f', 'policy'), r, 'formatting is idempotent');
  t.same(formatText('', 'f', 'policy'), { ok: true, text: '' });
  t.same(formatText('\n\n  \n', 'f', 'policy'), { ok: true, text: '' });
  t.same(formatText('$anyvm\t$anyvm\tallow,target=dom0\nsys-gui   $dispvm   ask  default_target=$dispvm\n$include:x\n', 'f', 'service'), {
    ok: true,
    text: '$anyvm   $anyvm   allow,target=dom0\nsys-gui  $dispvm  ask default_target=$dispvm\n$include:x\n',
  });
  const bad = formatText('qubes.Foo * a b allow\nqubes.Foo * a\n', 'f', 'policy');
  t.equal(bad.ok, false);
  t.same(!bad.ok && bad.errors.map((e) => `${e.line}:${e.column} ${e.id}`), ['2:1 field-count']);
  t.same(formatText('a b\n', 'f', 'service').ok, false);
});

/** The rules the loader reads from a tree, each with the line it came from; and the files it read. */
function parsedRules(fsrc: FileSource, dirs: string[], legacyPath: string) {
  const { rules, errors, files } = loadPolicy({ paths: dirs, legacyPath, fs: fsrc });
  return {
    files,
    errors: errors.map((e) => e.describe()),
    formats: new Map(rules.map((r) => [r.file, r.format])),
    rules: rules.map((r) => [r.file, r.line, r.service, r.argument, r.source.text, r.target.text, r.action, r.redirect?.text, r.defaultTarget?.text, r.user, r.autostart, r.notify]),
  };
}

t.test('fmt never changes meaning: the parsed rules are identical before and after', async (t) => {
  const trees = [{ policy: EXAMPLES, legacy: path.join(EXAMPLES, 'legacy') }];
  if (fs.existsSync(REALWORLD))
    for (const tr of fs.readdirSync(REALWORLD).sort()) trees.push({ policy: path.join(REALWORLD, tr, 'policy.d'), legacy: path.join(REALWORLD, tr, 'legacy') });
  let changed = 0;
  for (const tree of trees) {
    const before = parsedRules(nodeFileSource, [tree.policy], tree.legacy);
    t.same(before.errors, [], `${tree.policy} loads`);
    t.ok(before.rules.length > 10);
    // every file the loader read, formatted in the format it was read in
    const formatted: Record<string, string> = {};
    for (const file of before.files) {
      const text = fs.readFileSync(file, 'utf8');
      const format = before.formats.get(file) ?? (text.includes('$include:') ? 'service' : 'policy');
      const r = formatText(text, file, format === 'policy' ? 'policy' : 'service');
      t.ok(r.ok, `${file} formats`);
      formatted[file] = r.ok ? r.text : text;
      if (formatted[file] !== text) changed++;
    }
    // the same tree with the formatted files in their place
    const overlay: FileSource = { ...nodeFileSource, read: (f) => formatted[f] ?? nodeFileSource.read(f) };
    const after = parsedRules(overlay, [tree.policy], tree.legacy);
    t.same(after.rules, before.rules, `${tree.policy}: the same rules, on the same lines`);
    t.same(after.errors, []);
  }
  t.ok(changed > 5, `${changed} files were reformatted`);
});

t.test('fmt: the diff of --check', async (t) => {
  t.equal(unifiedDiff('f', 'a\n', 'a\n'), '');
  const before = ['1', '2', '3', '4', 'x  y', '6', '7', '8', '9', '10', '11', '12', 'p  q', '14', '', ''].join('\n');
  const after = ['1', '2', '3', '4', 'x y', '6', '7', '8', '9', '10', '11', '12', 'p q', '14'].join('\n') + '\n';
  t.equal(
    unifiedDiff('f', before, after),
    [
      '--- f',
      '+++ f (formatted)',
      '@@ -2,7 +2,7 @@',
      ' 2',
      ' 3',
      ' 4',
      '-x  y',
      '+x y',
      ' 6',
      ' 7',
      ' 8',
      '@@ -10,6 +10,5 @@',
      ' 10',
      ' 11',
      ' 12',
      '-p  q',
      '+p q',
      ' 14',
      '-',
      '',
    ].join('\n'),
  );
  t.equal(unifiedDiff('f', 'a\r\nb', 'a\nb\n'), '--- f\n+++ f (formatted)\n@@ -1,2 +1,2 @@\n-a\r\n-b\n\\ No newline at end of file\n+a\n+b\n');
  t.equal(unifiedDiff('f', '\n\n', ''), '--- f\n+++ f (formatted)\n@@ -1,2 +0,0 @@\n-\n-\n', 'an empty range names the line before');
});

function fmtEnv(files: Record<string, string>, stdin = ''): FmtEnv & { written: Record<string, string> } {
  const written: Record<string, string> = {};
  return { fs: memoryFileSource(files), readStdin: () => Buffer.from(stdin), write: (f, s) => void (written[f] = s), written };
}

t.test('fmt: the command', async (t) => {
  const ok = 'a  *  b  c  allow\n';
  const messy = 'a * b c allow\n';
  const files = { '/p/10-ok.policy': ok, '/p/20-messy.policy': messy, '/p/30-bad.policy': 'a * b\n', '/p/README': 'x', '/q/inc': 'x  y  allow\n' };
  const go = async (a: Partial<FmtArgs>, env = fmtEnv(files)) => {
    const c = captureIo();
    const status = await runFmt({ paths: [], check: false, includeService: false, ...a }, c.io, env);
    return { status, out: c.out, err: c.err, written: env.written };
  };
  let r = await go({ paths: ['/p/10-ok.policy', '/p/20-messy.policy'], check: true });
  t.equal(r.status, 1);
  t.equal(r.out, '--- /p/20-messy.policy\n+++ /p/20-messy.policy (formatted)\n@@ -1,1 +1,1 @@\n-a * b c allow\n+a  *  b  c  allow\n');
  t.same(r.written, {}, '--check writes nothing');
  r = await go({ paths: ['/p/10-ok.policy'], check: true });
  t.equal(r.status, 0);
  t.equal(r.out, '');
  r = await go({ paths: ['/p'] });
  t.equal(r.status, 1, 'a file with errors fails');
  t.same(r.written, { '/p/20-messy.policy': ok }, 'a directory means its *.policy files');
  t.equal(r.out, 'reformatted /p/20-messy.policy\n');
  t.equal(r.err, '/p/30-bad.policy:1:1: error: wrong number of fields [field-count]\nqrexec-policy fmt: /p/30-bad.policy has errors; not formatted\n');
  r = await go({ paths: ['/p/*-ok.policy', '/q/inc'], includeService: true, check: true });
  t.equal(r.status, 1, 'a policy.d file read as a service file has errors');
  r = await go({ paths: ['/q/inc'], includeService: true, check: true });
  t.equal(r.status, 0);
  r = await go({ paths: ['-'] }, fmtEnv({}, messy));
  t.equal(r.status, 0);
  t.equal(r.out, ok, '- formats standard input to standard output');
  r = await go({ paths: ['-'], check: true }, fmtEnv({}, messy));
  t.equal(r.status, 1);
  t.match(r.out, /^--- <stdin>\n/);
  r = await go({ paths: ['-'] }, fmtEnv({}, 'bad\n'));
  t.equal(r.status, 1);
  t.match(r.err, /^<stdin>:1:1: error: wrong number of fields/);
  r = await go({ paths: ['/nothing', '/p/*.none'] });
  t.equal(r.status, 2);
  t.equal(r.err, 'qrexec-policy fmt: no such file or directory: /nothing\nqrexec-policy fmt: no such file or directory: /p/*.none\n');
  r = await go({ paths: ['/empty'] }, fmtEnv({}, '') as FmtEnv & { written: Record<string, string> });
  t.equal(r.status, 2);
  const empty = fmtEnv({});
  const withDir: FmtEnv & { written: Record<string, string> } = { ...empty, fs: memoryFileSource({}, ['/emptydir']) };
  r = await go({ paths: ['/emptydir'] }, withDir);
  t.equal(r.status, 0, 'a directory without policy files is fine');
  const unreadable: FileSource = { ...memoryFileSource(files), read: () => { throw new FileSourceError('/p/10-ok.policy', 'permission denied', 'io'); } };
  r = await go({ paths: ['/p/10-ok.policy'] }, { ...fmtEnv(files), fs: unreadable });
  t.equal(r.status, 1);
  t.equal(r.err, 'qrexec-policy fmt: /p/10-ok.policy: permission denied\n');

  // in place on a real file, keeping its mode
  const dir = t.testdir({ '50-a.policy': messy });
  const file = path.join(dir, '50-a.policy');
  fs.chmodSync(file, 0o640);
  writeAtomically(file, ok);
  t.equal(fs.readFileSync(file, 'utf8'), ok);
  t.equal(fs.statSync(file).mode & 0o777, 0o640);
  t.same(fs.readdirSync(dir), ['50-a.policy'], 'no temporary file is left');
  // a link is written through: the file it points at is formatted, the link stays a link
  fs.writeFileSync(path.join(dir, 'real'), messy);
  fs.symlinkSync('real', path.join(dir, '60-link.policy'));
  writeAtomically(path.join(dir, '60-link.policy'), ok);
  t.ok(fs.lstatSync(path.join(dir, '60-link.policy')).isSymbolicLink());
  t.equal(fs.readFileSync(path.join(dir, 'real'), 'utf8'), ok);
  fs.rmSync(path.join(dir, '60-link.policy'));
  fs.rmSync(path.join(dir, 'real'));
  // a file that cannot be replaced: one line naming it, the others still done, nothing left behind
  t.throws(() => writeAtomically(path.join(dir, 'nosuch/50-b.policy'), ok), { name: 'Error', message: /^cannot write .*nosuch\/50-b\.policy: does not exist$/ });
  const failing = { ...fmtEnv(files), write: (f: string) => writeAtomically(path.join(dir, 'nosuch', path.basename(f)), ok) };
  r = await go({ paths: ['/p'] }, failing);
  t.equal(r.status, 1);
  t.match(r.err, /^qrexec-policy fmt: cannot write .*nosuch\/.*: does not exist\n/);
  t.same(fs.readdirSync(dir), ['50-a.policy']);
  // renaming over a directory fails after the temporary file was written: it is removed
  fs.mkdirSync(path.join(dir, '70-dir.policy'));
  t.throws(() => writeAtomically(path.join(dir, '70-dir.policy'), ok), { message: /^cannot write .*70-dir\.policy: is a directory$/ });
  t.same(fs.readdirSync(dir).sort(), ['50-a.policy', '70-dir.policy'], 'no temporary file is left');
  fs.rmdirSync(path.join(dir, '70-dir.policy'));
  // a directory that cannot be listed is named, not a crash
  const unlistable: FileSource = { ...memoryFileSource(files), list: (d) => { throw new FileSourceError(d, 'permission denied', 'io'); } };
  r = await go({ paths: ['/p'] }, { ...fmtEnv(files), fs: unlistable });
  t.equal(r.status, 2);
  t.equal(r.err, 'qrexec-policy fmt: /p: permission denied\n');
  // through the umbrella, on the real file system
  fs.writeFileSync(file, messy);
  const c = captureIo();
  t.equal(await umbrellaMain(['fmt', '--check', file], c.io), 1);
  t.match(c.out, /^--- .*50-a\.policy\n/);
  t.equal(await umbrellaMain(['fmt', dir], captureIo().io), 0);
  t.equal(fs.readFileSync(file, 'utf8'), ok);
});

// ------------------------------------------------------------ test

t.test('test: case files', async (t) => {
  const text = [
    '# comment',
    '',
    "work '' qubes.Gpg -> allow vault",
    'work vault qubes.Gpg -> allow',
    'work vault qubes.Gpg -> deny',
    'work vault qubes.Gpg -> ask',
    'work vault qubes.Gpg+x -> ask a, b,c',
    'work vault -> deny',
    'work vault qubes.Gpg deny',
    'work vault qubes.Gpg -> permit',
    'work vault qubes.Gpg ->',
    'work vault qubes.Gpg -> deny vault',
    'work vault qubes.Gpg -> allow a b',
    'work vault qubes.Gpg -> ask a,,b',
    'work vault qubes.Gpg -> ask a, b c',
    'a -> b -> deny',
    'work "" qubes.Gpg -> deny',
  ].join('\n');
  const cases = parseTextCases('c', text);
  t.same(cases, [
    { where: 'c:3', source: 'work', target: '', service: 'qubes.Gpg', requestedSource: null, expect: { result: 'allow', target: 'vault' } },
    { where: 'c:4', source: 'work', target: 'vault', service: 'qubes.Gpg', requestedSource: null, expect: { result: 'allow' } },
    { where: 'c:5', source: 'work', target: 'vault', service: 'qubes.Gpg', requestedSource: null, expect: { result: 'deny' } },
    { where: 'c:6', source: 'work', target: 'vault', service: 'qubes.Gpg', requestedSource: null, expect: { result: 'ask' } },
    { where: 'c:7', source: 'work', target: 'vault', service: 'qubes.Gpg+x', requestedSource: null, expect: { result: 'ask', targets: ['a', 'b', 'c'] } },
    { where: 'c:8', error: 'expected SOURCE TARGET SERVICE[+ARG] before ->, got 2 words' },
    { where: 'c:9', error: 'a case is SOURCE TARGET SERVICE[+ARG] -> RESULT' },
    { where: 'c:10', error: 'expected allow, deny or ask after ->, got "permit"' },
    { where: 'c:11', error: 'expected allow, deny or ask after ->, got ""' },
    { where: 'c:12', error: 'deny takes no target' },
    { where: 'c:13', error: 'allow takes at most one target' },
    { where: 'c:14', error: 'ask targets are separated by commas' },
    { where: 'c:15', error: 'ask targets are separated by commas' },
    { where: 'c:16', error: 'a case is SOURCE TARGET SERVICE[+ARG] -> RESULT' },
    { where: 'c:17', source: 'work', target: '', service: 'qubes.Gpg', requestedSource: null, expect: { result: 'deny' } },
  ]);
  const json = JSON.stringify([
    { source: 'work', target: 'vault', service: 'qubes.Gpg', expect: 'allow', expect_target: 'vault' },
    { source: 'work', target: '', service: 'qubes.Gpg', expect: 'ask', expect_targets: ['a'], requested_source: null },
    { source: 'work', target: '', service: 'qubes.Gpg', expect: 'deny', requested_source: 'remote1' },
    7,
    { source: 'work', target: 1, service: 'qubes.Gpg', expect: 'deny' },
    { source: 'work', target: '', service: 'qubes.Gpg', expect: 'permit' },
    { source: 'work', target: '', service: 'qubes.Gpg', expect: 'deny', expect_target: 'x' },
    { source: 'work', target: '', service: 'qubes.Gpg', expect: 'allow', expect_target: 7 },
    { source: 'work', target: '', service: 'qubes.Gpg', expect: 'allow', expect_targets: ['x'] },
    { source: 'work', target: '', service: 'qubes.Gpg', expect: 'ask', expect_targets: [7] },
    { source: 'work', target: '', service: 'qubes.Gpg', expect: 'ask', expect_targets: 'x' },
    { source: 'work', target: '', service: 'qubes.Gpg', expect: 'deny', requested_source: 7 },
  ]);
  t.same(parseCases('j', json), [
    { where: 'j: case 1', source: 'work', target: 'vault', service: 'qubes.Gpg', requestedSource: null, expect: { result: 'allow', target: 'vault' } },
    { where: 'j: case 2', source: 'work', target: '', service: 'qubes.Gpg', requestedSource: null, expect: { result: 'ask', targets: ['a'] } },
    { where: 'j: case 3', source: 'work', target: '', service: 'qubes.Gpg', requestedSource: 'remote1', expect: { result: 'deny' } },
    { where: 'j: case 4', error: 'a case must be a JSON object' },
    { where: 'j: case 5', error: '"target" must be a string' },
    { where: 'j: case 6', error: '"expect" must be allow, deny or ask' },
    { where: 'j: case 7', error: '"expect_target" is a string, for allow only' },
    { where: 'j: case 8', error: '"expect_target" is a string, for allow only' },
    { where: 'j: case 9', error: '"expect_targets" is an array of strings, for ask only' },
    { where: 'j: case 10', error: '"expect_targets" is an array of strings, for ask only' },
    { where: 'j: case 11', error: '"expect_targets" is an array of strings, for ask only' },
    { where: 'j: case 12', error: '"requested_source" must be a string' },
  ]);
  t.same(parseCases('j', '  {"cases": []}'), []);
  t.match(parseJsonCases('j', '[1,'), [{ where: 'j', error: /^not valid JSON: / }]);
  t.same(parseJsonCases('j', '{"x": 1}'), [{ where: 'j', error: 'expected a JSON array of cases (or {"cases": [...]})' }]);
  t.same(parseJsonCases('j', 'null'), [{ where: 'j', error: 'expected a JSON array of cases (or {"cases": [...]})' }]);
  t.equal(expectationText({ result: 'allow' }), 'allow');
  t.equal(expectationText({ result: 'allow', target: 'v' }), 'allow v');
  t.equal(expectationText({ result: 'ask' }), 'ask');
  t.equal(expectationText({ result: 'ask', targets: ['a', 'b'] }), 'ask a,b');
  t.equal(expectationText({ result: 'deny' }), 'deny');
});

t.test('test: comparing decisions', async (t) => {
  const policy = 'qubes.A * work vault allow\nqubes.B * work @anyvm ask default_target=vault\nqubes.C * work vault ask\n';
  const allow = decide(policy, 'work', 'vault', 'qubes.A');
  const ask = decide(policy, 'work', 'vault', 'qubes.B');
  const plainAsk = decide(policy, 'work', 'vault', 'qubes.C');
  const deny = decide(policy, 'work', 'vault', 'qubes.D');
  t.ok(meets(allow, { result: 'allow' }));
  t.ok(meets(allow, { result: 'allow', target: 'vault' }));
  t.notOk(meets(allow, { result: 'allow', target: 'personal' }));
  t.notOk(meets(allow, { result: 'deny' }));
  t.ok(meets(ask, { result: 'ask' }));
  t.notOk(meets(ask, { result: 'ask', targets: ['vault'] }));
  t.ok(meets(plainAsk, { result: 'ask', targets: ['vault'] }));
  t.notOk(meets(plainAsk, { result: 'ask', targets: ['vault', 'vault2'] }));
  t.ok(meets(deny, { result: 'deny' }));
  t.equal(actualText(allow), 'allow vault');
  t.match(actualText(ask), /^ask .*vault.* \(default vault\)$/);
  t.equal(actualText(plainAsk), 'ask vault');
  t.equal(actualText(deny), 'deny (no matching rule found)');
});

const TEST_ARGS: TestArgs = { cases: [], coverage: false, verbose: false };
const EX = { path: [EXAMPLES], legacyPath: path.join(EXAMPLES, 'legacy'), systemInfo: path.join(EXAMPLES, 'system-info.json') };

t.test('test: the example cases pass and reach every rule of policy.d-examples', async (t) => {
  const c = captureIo();
  const status = await runTest({ ...TEST_ARGS, ...EX, cases: [path.join(EXAMPLES, 'tests')], coverage: true }, c.io, nodeFileSource);
  t.equal(c.err, '');
  t.equal(status, 0);
  t.match(c.out, /^(\d+) passed, 0 failed\ncoverage: (\d+) of \2 rules decided a case\n$/);
  const n = Number(/^(\d+) passed/.exec(c.out)![1]);
  t.ok(n > 50, `${n} cases`);
});

t.test('test: failures, coverage, usage problems', async (t) => {
  const dir = t.testdir({
    'policy.d': { '50-a.policy': 'qubes.A * work vault allow\nqubes.B * work vault deny\n!compat-4.0\n' },
    legacy: { 'qubes.L': 'work vault allow\n' },
    'cases.d': {
      'a.cases': "work vault qubes.A -> allow vault\nwork vault qubes.A -> deny\nwork vault qubes.B -> allow\nwork vault -> deny\n",
      'b.json': JSON.stringify([{ source: 'work', target: 'vault', service: 'qubes.Zzz', expect: 'deny' }]),
      'notes.txt': 'not a case file',
    },
    'bad.d': { '50-a.policy': 'qubes.A * work\n' },
    'si.json': JSON.stringify({ domains: { dom0: { type: 'AdminVM' }, work: { type: 'AppVM', uuid: 'aaaaaaaa-0000-4000-8000-000000000001' }, vault: { type: 'AppVM', uuid: 'aaaaaaaa-0000-4000-8000-000000000002' } } }),
  });
  const args = { ...TEST_ARGS, path: [path.join(dir, 'policy.d')], legacyPath: path.join(dir, 'legacy'), systemInfo: path.join(dir, 'si.json') };
  const go = async (a: Partial<TestArgs>, env: NodeJS.ProcessEnv = {}) => {
    const c = captureIo(env);
    const status = await runTest({ ...args, ...a }, c.io, nodeFileSource);
    return { status, out: c.out, err: c.err };
  };
  let r = await go({ cases: [path.join(dir, 'cases.d')], coverage: true, verbose: true });
  t.equal(r.status, 1);
  // in file order, a malformed line among the others; every path as given (here: absolute)
  t.equal(
    r.out,
    [
      `ok   ${dir}/cases.d/a.cases:1: work vault qubes.A -> allow vault`,
      `FAIL ${dir}/cases.d/a.cases:2: work vault qubes.A`,
      '  expected: deny',
      '  actual:   allow vault',
      `  rule:     ${dir}/policy.d/50-a.policy:1: qubes.A * work vault allow`,
      `FAIL ${dir}/cases.d/a.cases:3: work vault qubes.B`,
      '  expected: allow',
      `  actual:   deny (denied by policy ${dir}/policy.d/50-a.policy:2)`,
      `  rule:     ${dir}/policy.d/50-a.policy:2: qubes.B * work vault deny`,
      `FAIL ${dir}/cases.d/a.cases:4: bad test case: expected SOURCE TARGET SERVICE[+ARG] before ->, got 2 words`,
      `ok   ${dir}/cases.d/b.json: case 1: work vault qubes.Zzz -> deny`,
      '2 passed, 3 failed',
      'coverage: 2 of 3 rules decided a case',
      `  not reached: ${dir}/legacy/qubes.L:1: work vault allow`,
      '',
    ].join('\n'),
  );
  r = await go({ cases: [path.join(dir, 'cases.d/b.json')] });
  t.equal(r.status, 0);
  t.equal(r.out, '1 passed, 0 failed\n');
  r = await go({ cases: [path.join(dir, 'cases.d/*.cases')], legacy: true });
  t.equal(r.status, 1, '--legacy: there is no R4.0 file for qubes.A');
  t.match(r.out, /rule: {5}none\n/);
  r = await go({ cases: [path.join(dir, 'cases.d')], legacy: true, coverage: true });
  t.equal(r.status, 2);
  t.equal(r.err, 'qrexec-policy test: --coverage needs the policy.d rules (not --legacy)\n');
  r = await go({ cases: [path.join(dir, 'none')] });
  t.equal(r.status, 2);
  t.equal(r.err, `qrexec-policy test: ${path.join(dir, 'none')}: does not exist\n`, 'a missing cases file says so');
  r = await go({ cases: [path.join(dir, 'cases.d/*.nothing')] });
  t.same([r.status, r.err], [2, `qrexec-policy test: no test cases in ${path.join(dir, 'cases.d/*.nothing')}\n`], 'a glob that matches nothing');
  r = await go({ cases: [path.join(dir, 'cases.d')], systemInfo: path.join(dir, 'nope.json') });
  t.equal(r.status, 4, 'could not decide');
  t.equal(r.err, `qrexec-policy test: could not decide: cannot read system info ${path.join(dir, 'nope.json')}: does not exist\n`);
  r = await go({ cases: [path.join(dir, 'cases.d')], path: [path.join(dir, 'nowhere')] });
  t.same([r.status, r.err], [4, `qrexec-policy test: could not decide: ${path.join(dir, 'nowhere')}: cannot read the policy directory: does not exist\n`]);
  r = await go({ cases: [path.join(dir, 'cases.d')], path: [path.join(dir, 'bad.d')] });
  t.equal(r.status, 1);
  t.equal(r.err, `qrexec-policy test: policy failed to load: ${path.join(dir, 'bad.d/50-a.policy')}:1: wrong number of fields\n`);
  t.equal(r.out, '');
  const unreadable: FileSource = { ...nodeFileSource, read: () => { throw new FileSourceError('x', 'permission denied', 'io'); } };
  const c = captureIo();
  t.equal(await runTest({ ...args, cases: [path.join(dir, 'cases.d/b.json')] }, c.io, unreadable), 2);
  t.equal(c.err, 'qrexec-policy test: x: permission denied\n');
  const unlistable: FileSource = { ...nodeFileSource, list: (d) => { throw new FileSourceError(d, 'permission denied', 'io'); } };
  const l = captureIo();
  t.equal(await runTest({ ...args, cases: [path.join(dir, 'cases.d')] }, l.io, unlistable), 2);
  t.equal(l.err, `qrexec-policy test: ${path.join(dir, 'cases.d')}: permission denied\n`);
  // through the umbrella
  const u = captureIo();
  const status = await umbrellaMain(['test', '--path', EXAMPLES, '--legacy-path', EX.legacyPath, '--system-info', EX.systemInfo, path.join(EXAMPLES, 'tests/examples.cases')], u.io);
  t.equal(status, 0);
  t.match(u.out, /^\d+ passed, 0 failed\n$/);
});

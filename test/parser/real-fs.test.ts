/**
 * Everything that needs a real file system (nodeFileSource): symbolic links,
 * directories named x.policy, non-UTF-8 bytes, BOMs, file names on disk; plus
 * src/parser/file-source.ts itself and src/parser/errors.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { PolicyError } from '../../src/parser/errors.js';
import { decodeUtf8, FileSourceError, joinPath, memoryFileSource, nodeFileSource, withFiles } from '../../src/parser/file-source.js';
import { loadLegacyService, loadPolicy, type LoadResult } from '../../src/parser/loader.js';

t.test('file-source.ts and errors.ts', async (t) => {
  t.test('PolicyError location and describe()', async (t) => {
    const full = new PolicyError('action', 'invalid action: x', '/p/a.policy', 3, 7);
    t.equal(full.name, 'PolicyError');
    t.equal(full.id, 'action');
    t.equal(full.column, 7);
    t.equal(full.location, '/p/a.policy:3');
    t.equal(full.describe(), '/p/a.policy:3: invalid action: x');
    t.type(full, Error);
    const noLine = new PolicyError('file-name', 'invalid filename: /p/A.policy', '/p/A.policy', null);
    t.equal(noLine.column, null, 'column defaults to null');
    t.equal(noLine.location, '/p/A.policy');
    t.equal(noLine.describe(), '/p/A.policy: invalid filename: /p/A.policy');
    const nowhere = new PolicyError('policy-dir', 'boom', null, null);
    t.equal(nowhere.location, '');
    t.equal(nowhere.describe(), 'boom');
  });

  t.test('withFiles lays in-memory files over a file source', async (t) => {
    const base = memoryFileSource({ '/p/a.policy': 'A' });
    const s = withFiles(base, new Map([['<stdin>', 'S']]));
    t.same([s.kind('<stdin>'), s.kind('/p/a.policy'), s.kind('/nope')], ['file', 'file', 'missing']);
    t.same([s.read('<stdin>'), s.read('/p/a.policy')], ['S', 'A']);
    t.same([s.resolve('<stdin>'), s.resolve('/p/./a.policy')], ['<stdin>', '/p/a.policy']);
    t.same(s.list('/p'), ['a.policy']);
  });

  t.test('joinPath joins as pathlib does (values from PurePosixPath)', async (t) => {
    t.equal(joinPath('a', 'b'), 'a/b');
    t.equal(joinPath('/a', '../b'), '/a/../b', '`..` is left for the kernel');
    t.equal(joinPath('a', '/b'), '/b');
    t.equal(joinPath('.', '.'), '.');
    t.equal(joinPath('./a/', './b//c'), 'a/b/c');
  });

  t.test('decodeUtf8 is strict and keeps a BOM', async (t) => {
    t.equal(decodeUtf8(Buffer.from('héllo'), 'f'), 'héllo');
    t.equal(decodeUtf8(Buffer.from([0xef, 0xbb, 0xbf, 0x61]), 'f'), '\ufeffa', 'BOM kept');
    t.equal(decodeUtf8(new Uint8Array(), 'f'), '');
    const err = t.throws(() => decodeUtf8(Buffer.from([0x61, 0xff, 0x62]), '/p/x.policy')) as FileSourceError;
    t.type(err, FileSourceError);
    t.equal(err.kind, 'encoding');
    t.equal(err.message, '/p/x.policy: not valid UTF-8');
    t.throws(() => decodeUtf8(Buffer.from([0xc3]), 'f'), { kind: 'encoding', message: 'f: not valid UTF-8' }, 'truncated sequence');
    t.throws(() => decodeUtf8(Buffer.from([0xed, 0xa0, 0x80]), 'f'), { kind: 'encoding', message: 'f: not valid UTF-8' }, 'encoded surrogate');
  });

  t.test('nodeFileSource on a real directory', async (t) => {
    const dir = fs.realpathSync(
      t.testdir({
        'a.policy': 'svc * @anyvm @anyvm deny\n',
        sub: { 'inner.txt': 'x' },
        'bad.policy': Buffer.from([0x61, 0xff]),
        'link.policy': t.fixture('symlink', 'a.policy'),
        'dirlink': t.fixture('symlink', 'sub'),
        'dangling.policy': t.fixture('symlink', 'nowhere'),
      }),
    );
    const fsrc = nodeFileSource;
    t.equal(fsrc.kind(path.join(dir, 'a.policy')), 'file');
    t.equal(fsrc.kind(path.join(dir, 'link.policy')), 'file', 'symlinks are followed');
    t.equal(fsrc.kind(path.join(dir, 'sub')), 'dir');
    t.equal(fsrc.kind(path.join(dir, 'dirlink')), 'dir');
    t.equal(fsrc.kind(path.join(dir, 'dangling.policy')), 'missing');
    t.equal(fsrc.kind(path.join(dir, 'nope')), 'missing');
    t.equal(fsrc.kind('/dev/null'), 'other');

    t.same(fsrc.list(dir).sort(), ['a.policy', 'bad.policy', 'dangling.policy', 'dirlink', 'link.policy', 'sub']);
    // the listing's own kinds: regular files and directories; links (and anything else) left to kind()
    t.same(
      fsrc.listKinds!(dir).sort((a, b) => (a[0] < b[0] ? -1 : 1)),
      [['a.policy', 'file'], ['bad.policy', 'file'], ['dangling.policy', undefined], ['dirlink', undefined], ['link.policy', undefined], ['sub', 'dir']],
    );
    t.throws(() => fsrc.listKinds!(path.join(dir, 'nope')), { kind: 'missing', message: `${dir}/nope: does not exist` });
    t.throws(() => fsrc.list(path.join(dir, 'nope')), { kind: 'missing', message: `${dir}/nope: does not exist`, problem: 'does not exist' });
    t.throws(() => fsrc.list(path.join(dir, 'a.policy')), {
      kind: 'io',
      message: `${dir}/a.policy: a part of the path is not a directory`,
    });

    t.equal(fsrc.read(path.join(dir, 'a.policy')), 'svc * @anyvm @anyvm deny\n');
    t.equal(fsrc.read(path.join(dir, 'link.policy')), 'svc * @anyvm @anyvm deny\n');
    t.throws(() => fsrc.read(path.join(dir, 'nope')), { kind: 'missing', message: `${dir}/nope: does not exist` });
    t.throws(() => fsrc.read(path.join(dir, 'sub')), { kind: 'io', message: `${dir}/sub: is a directory` });
    t.throws(() => fsrc.read(path.join(dir, 'bad.policy')), {
      kind: 'encoding',
      message: `${dir}/bad.policy: not valid UTF-8`,
    });

    // Node's own decoding is checked: a U+FFFD written in the file is text, one made from bad bytes is not
    const fffd = path.join(dir, 'fffd.policy');
    fs.writeFileSync(fffd, 'svc * @anyvm @anyvm deny # \ufffd\n');
    t.equal(fsrc.read(fffd), 'svc * @anyvm @anyvm deny # \ufffd\n');
    fs.writeFileSync(fffd, Buffer.concat([Buffer.from('# \ufffd '), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('\n')]));
    t.throws(() => fsrc.read(fffd), { kind: 'encoding', message: `${fffd}: not valid UTF-8` }, 'an encoded surrogate beside a real U+FFFD');
    fs.writeFileSync(fffd, '\ufeffsvc * @anyvm @anyvm deny\n');
    t.equal(fsrc.read(fffd), '\ufeffsvc * @anyvm @anyvm deny\n', 'a byte-order mark is kept (Qubes reads it as part of the first line)');
    fs.rmSync(fffd);
    t.equal(fsrc.resolve(path.join(dir, 'link.policy')), path.join(dir, 'a.policy'), 'links resolved');
    t.equal(fsrc.resolve(path.join(dir, 'sub', '..', 'a.policy')), path.join(dir, 'a.policy'), 'normalised');
    t.equal(fsrc.resolve(path.join(dir, 'dirlink', 'x', 'y')), path.join(dir, 'sub', 'x', 'y'), 'existing part resolved');
    t.equal(fsrc.resolve('/'), '/');
    t.equal(fsrc.resolve('/nonexistent-root-dir-xyz/a'), '/nonexistent-root-dir-xyz/a');
    t.equal(fsrc.resolve('relative-nope-xyz'), path.join(fs.realpathSync(process.cwd()), 'relative-nope-xyz'), 'relative to cwd');
  });

  t.test('nodeFileSource.resolve walks `..` after a link the way the kernel does (as Python\'s Path.resolve)', async (t) => {
    const dir = fs.realpathSync(
      t.testdir({
        sub: { deeper: {}, x: 'x' },
        deeplink: t.fixture('symlink', 'sub/deeper'),
        dotlink: t.fixture('symlink', './sub/deeper'),
        dangling: t.fixture('symlink', 'missing-target'),
        loop1: t.fixture('symlink', 'loop2'),
        loop2: t.fixture('symlink', 'loop1'),
        abs: t.fixture('symlink', '/'),
      }),
    );
    const r = (p: string) => nodeFileSource.resolve(`${dir}/${p}`);
    // each expected value is what Python's pathlib.Path.resolve() gives for the same tree
    t.equal(r('deeplink/../x'), `${dir}/sub/x`, 'an existing file above the link target');
    t.equal(r('deeplink/../missing/y'), `${dir}/sub/missing/y`, 'missing parts after the link target stay as text');
    t.equal(r('missing/../deeplink/z'), `${dir}/sub/deeper/z`, 'a link after a missing part is still followed');
    t.equal(r('dangling/../q'), `${dir}/q`, 'a dangling link resolves to its (missing) target first');
    t.equal(r('dangling/../dangling/../q'), `${dir}/q`, 'a link met a second time resolves as the first time');
    t.equal(r('deeplink/./../../x'), `${dir}/x`);
    t.equal(r('dotlink/missing'), `${dir}/sub/deeper/missing`, 'a `.` in a link target');
    t.equal(r('abs/tmp/../nonexistent-xyz'), '/nonexistent-xyz', 'an absolute link target');
    // a loop: Python raises; we give a path that does not exist, which every caller then refuses
    t.equal(nodeFileSource.kind(r('loop1/x')), 'missing', 'a link loop names nothing');
  });

  t.test('memoryFileSource', async (t) => {
    const m = memoryFileSource({ '/p/a.policy': 'A', 'p/sub/b': 'B' }, ['/empty/dir', '/p']);
    t.equal(m.kind('/p/a.policy'), 'file');
    t.equal(m.kind('/p/sub/b'), 'file', 'relative keys are made absolute');
    t.equal(m.kind('/p/sub'), 'dir', 'parent directories exist implicitly');
    t.equal(m.kind('/p'), 'dir');
    t.equal(m.kind('/'), 'dir');
    t.equal(m.kind('/empty/dir'), 'dir');
    t.equal(m.kind('/empty'), 'dir');
    t.equal(m.kind('/p/./sub/../a.policy'), 'file', 'paths are normalised');
    t.equal(m.kind('/nope'), 'missing');
    t.same(m.list('/p').sort(), ['a.policy', 'sub']);
    t.same(m.list('/').sort(), ['empty', 'p']);
    t.same(m.list('/empty/dir'), []);
    t.throws(() => m.list('/nope'), { kind: 'missing', message: '/nope: does not exist' });
    t.throws(() => m.list('/p/a.policy'), { kind: 'missing', message: '/p/a.policy: does not exist' }, 'a file cannot be listed');
    t.equal(m.read('/p/a.policy'), 'A');
    t.throws(() => m.read('/p/sub'), { kind: 'missing', message: '/p/sub: does not exist' });
    t.equal(m.resolve('/p/sub/../a.policy'), '/p/a.policy');
    t.equal(m.resolve('rel'), '/rel');
    const e = t.throws(() => m.read('/x'));
    t.type(e, FileSourceError);
  });
});

t.test('loader on disk', async (t) => {
  const RULE = (label: string) => `svc * @anyvm ${label} allow\n`;
  const LATIN1 = Buffer.from('svc * @anyvm caf\xe9 allow\n', 'latin1');
  const BOM = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('svc * @anyvm bom allow\nsvc * @anyvm second allow\n')]);

  function errs(r: LoadResult, root: string): Array<[string, string | null, number | null]> {
    return r.errors.map((e) => [e.id, e.file === null ? null : path.relative(root, e.file), e.line]);
  }
  function where(r: LoadResult, root: string): string[] {
    return r.rules.map((x) => `${path.relative(root, x.file)}:${x.line} ${x.target.text}`);
  }

  t.test('symbolic links, ignored entries, relative includes', async (t) => {
    const root = fs.realpathSync(
      t.testdir({
        shared: {
          'top.policy': RULE('top-via-link') + '!include include/a\n',
          s: RULE('shared-s'),
          'd.policy': RULE('in-linked-dir'),
        },
        'policy.d': {
          '30-a.policy': '!include include/a\n!include include/link\n!include-dir linked.d\n',
          '40-link.policy': t.fixture('symlink', '../shared/top.policy'),
          'dir.policy': { 'inner.policy': RULE('never') },
          'dirlink.policy': t.fixture('symlink', 'include'),
          'dangling.policy': t.fixture('symlink', 'nowhere.policy'),
          '.hidden.policy': RULE('never'),
          'x.policy.swp': 'garbage',
          README: 'garbage',
          'Upper-dir.policy': { x: 'garbage' },
          include: {
            a: RULE('a'),
            link: t.fixture('symlink', '../../shared/s'),
          },
          'linked.d': t.fixture('symlink', '../shared'),
        },
      }),
    );
    const P = path.join(root, 'policy.d');
    const r = loadPolicy({ paths: [P], legacyPath: path.join(root, 'nolegacy') });
    t.same(errs(r, root), []);
    t.same(where(r, root), [
      'policy.d/include/a:1 a',
      'shared/s:1 shared-s',
      'shared/d.policy:1 in-linked-dir',
      'shared/top.policy:1 top-via-link',
      'policy.d/include/a:1 a',
      'policy.d/40-link.policy:1 top-via-link',
      'policy.d/include/a:1 a',
    ], 'top-level files keep the path they were found at; included files are resolved');
    t.same(r.files.map((f) => path.relative(root, f)), [
      'policy.d/30-a.policy',
      'policy.d/include/a',
      'shared/s',
      'shared/d.policy',
      'shared/top.policy',
      'policy.d/include/a',
      'policy.d/40-link.policy',
      'policy.d/include/a',
    ]);
    t.same(r.dirs, [P, path.join(root, 'shared')], 'include-dir records the resolved directory');
  });

  t.test('`..` after a linked directory in an include is resolved by the kernel, not as text', async (t) => {
    // policy.d/lnk → sub/deeper: `lnk/../x` is policy.d/sub/x; as text it would be policy.d/x
    const root = fs.realpathSync(
      t.testdir({
        'policy.d': {
          '10-top.policy': '!include lnk/../x\n!include-dir lnk/..\n!include-service svc * lnk/../s\n',
          x: RULE('text-x'),
          s: '@anyvm text-s allow\n',
          sub: { x: RULE('kernel-x'), s: '@anyvm kernel-s allow\n', deeper: {}, '20-d.policy': RULE('kernel-dir') },
          lnk: t.fixture('symlink', 'sub/deeper'),
        },
      }),
    );
    const r = loadPolicy({ paths: [path.join(root, 'policy.d')], legacyPath: path.join(root, 'nolegacy') });
    t.same(errs(r, root), []);
    t.same(where(r, root), ['policy.d/sub/x:1 kernel-x', 'policy.d/sub/20-d.policy:1 kernel-dir', 'policy.d/sub/s:1 kernel-s']);
  });

  t.test('file names on disk', async (t) => {
    for (const bad of ['Upper.policy', 'é.policy', 'a@b.policy']) {
      const root = fs.realpathSync(t.testdir({ '10-ok.policy': RULE('ok'), [bad]: RULE('bad') }));
      const r = loadPolicy({ paths: [root] });
      t.same(errs(r, root), [['file-name', bad, null]], bad);
      t.same(r.rules, [], `${bad}: nothing loaded`);
    }
  });

  t.test('missing and wrong policy directories', async (t) => {
    const root = fs.realpathSync(t.testdir({ 'a-file': 'x', 'policy.d': { '10-a.policy': RULE('a') } }));
    const missing = loadPolicy({ paths: [path.join(root, 'nope'), path.join(root, 'policy.d')] });
    t.same(errs(missing, root), [['policy-dir', 'nope', null]]);
    t.equal(missing.errors[0]!.message, 'cannot read the policy directory: does not exist');
    t.same(missing.rules, []);
    const notDir = loadPolicy({ paths: [path.join(root, 'a-file')] });
    t.same(errs(notDir, root), [['policy-dir', 'a-file', null]]);
    t.equal(notDir.errors[0]!.message, 'cannot read the policy directory: a part of the path is not a directory');
  });

  t.test('non-UTF-8 files are errors; a BOM is kept', async (t) => {
    const root = fs.realpathSync(
      t.testdir({
        '10-ok.policy': RULE('ok'),
        '20-latin1.policy': LATIN1,
        '30-bom.policy': BOM,
        '40-inc.policy': '!include include/latin1\n!include-service svc * include/latin1\n' + RULE('after'),
        include: { latin1: LATIN1 },
      }),
    );
    const r = loadPolicy({ paths: [root] });
    t.same(errs(r, root), [
      ['file-encoding', '20-latin1.policy', null],
      ['service-chars', '30-bom.policy', 1],
      ['file-encoding', 'include/latin1', null],
      ['file-encoding', 'include/latin1', null],
    ]);
    t.equal(r.errors[0]!.describe(), `${root}/20-latin1.policy: not valid UTF-8`, 'the file named once');
    t.equal(r.errors[1]!.message, "service '\\ufeffsvc' contains invalid characters: ('\\ufeff',)");
    t.same(where(r, root), ['10-ok.policy:1 ok', '30-bom.policy:2 second', '40-inc.policy:3 after']);
    t.notOk(r.files.includes(`${root}/20-latin1.policy`), 'a file that could not be decoded is not listed as read');
  });

  t.test('a self-include through a symlinked policy directory is still caught', async (t) => {
    const root = fs.realpathSync(
      t.testdir({
        real: { '30-a.policy': RULE('a') + '!include 30-a.policy\n' },
        link: t.fixture('symlink', 'real'),
      }),
    );
    const r = loadPolicy({ paths: [path.join(root, 'link')] });
    t.ok(r.errors.length > 0, 'an error is reported (fail closed)');
    t.same([...new Set(r.errors.map((e) => e.id))], ['include-cycle']);
    t.equal(r.rules.length, 1, 'the file is loaded once');
    t.same(
      r.errors.map((e) => [path.relative(root, e.file!), e.line]),
      [['link/30-a.policy', 2]],
      'the error names the file as the tool opened it',
    );
  });

  t.test('!compat-4.0 and --legacy on disk', async (t) => {
    const root = fs.realpathSync(
      t.testdir({
        'policy.d': { '35-compat.policy': '!compat-4.0\n' },
        elsewhere: { gpg: '$anyvm $anyvm ask\n' },
        legacy: {
          'qubes.Filecopy': '$anyvm $anyvm ask\n$include:include/common\n',
          'qubes.Gpg': t.fixture('symlink', '../elsewhere/gpg'),
          'qubes.Latin': Buffer.from('$anyvm caf\xe9 allow\n', 'latin1'),
          'qubes.Dir': { x: 'garbage' },
          'qubes.Dangling': t.fixture('symlink', 'nowhere'),
          include: { common: '$anyvm common allow\n' },
        },
      }),
    );
    const L = path.join(root, 'legacy');
    const r = loadPolicy({ paths: [path.join(root, 'policy.d')], legacyPath: L });
    t.same(errs(r, root), [['file-encoding', 'legacy/qubes.Latin', null]]);
    // like Qubes, a linked legacy file's rules name the file it resolves to
    t.same(where(r, root), ['legacy/qubes.Filecopy:1 @anyvm', 'legacy/include/common:1 common', 'elsewhere/gpg:1 @anyvm']);
    t.same(
      r.notices.filter((n) => n.startsWith('ignoring')).sort(),
      [`ignoring ${L}/include (not a file)`, `ignoring ${L}/qubes.Dangling (not a file)`, `ignoring ${L}/qubes.Dir (not a file)`],
    );

    const gpg = loadLegacyService('qubes.Gpg', '+key', { legacyPath: L });
    t.same(gpg.errors, []);
    t.same(gpg.rules!.map((x) => [x.service, x.argument, x.action]), [['qubes.Gpg', null, 'ask']]);
    const fc = loadLegacyService('qubes.Filecopy', '+', { legacyPath: L });
    t.same(where({ rules: fc.rules!, errors: [], files: [], dirs: [], notices: [] }, root), [
      'legacy/qubes.Filecopy:1 @anyvm',
      'legacy/include/common:1 common',
    ]);
    t.same(loadLegacyService('qubes.Dir', '+', { legacyPath: L }), { rules: null, errors: [], files: [] });
    const missing = loadLegacyService('x', '+', { legacyPath: path.join(root, 'nope') });
    t.same(missing.errors.map((e) => e.id), ['legacy-dir']);
  });
});

t.test('a real policy directory: files, links to files and a FIFO told apart without stat where the listing can', async (t) => {
  const dir = fs.realpathSync(
    t.testdir({
      'policy.d': {
        '10-a.policy': 'svc * @anyvm @anyvm allow\n',
        '20-dir.policy': { 'x.policy': 'svc * @anyvm @anyvm deny\n' },
        '30-link.policy': t.fixture('symlink', '10-a.policy'),
        '40-dirlink.policy': t.fixture('symlink', '20-dir.policy'),
        '50-dangling.policy': t.fixture('symlink', 'nowhere'),
      },
    }),
  );
  const policyDir = path.join(dir, 'policy.d');
  const fifo = spawnSync('mkfifo', [path.join(policyDir, '60-fifo.policy')]);
  const r = loadPolicy({ paths: [policyDir] });
  t.same(r.errors, []);
  t.same(r.files, [path.join(policyDir, '10-a.policy'), path.join(policyDir, '30-link.policy')], 'directories, dangling links and a FIFO are not policy files');
  t.same(r.rules.map((x) => [x.file, x.line]), [[path.join(policyDir, '10-a.policy'), 1], [path.join(policyDir, '30-link.policy'), 1]]);
  t.equal(fifo.status, 0, 'mkfifo made the FIFO');
});

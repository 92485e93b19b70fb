/**
 * src/parser/loader.ts on the in-memory file system: policy directories
 * (file names, merging, byte order, missing dirs, lines), the include
 * directives and service files, cycles and the nesting limit, `!compat-4.0`,
 * listLegacyDir and loadLegacyService (`--legacy`).
 */
import t from 'tap';
import { FileSourceError, memoryFileSource, type FileSource } from '../../src/parser/file-source.js';
import {
  DEFAULT_LEGACY_PATH,
  DEFAULT_POLICY_PATHS,
  isIgnoredLegacyName,
  isValidPolicyFileName,
  listLegacyDir,
  loadLegacyService,
  loadPolicy,
  looksLikePolicyFile,
  MAX_INCLUDE_DEPTH,
  POLICY_SUFFIX,
  PolicyLoader,
  RUNTIME_POLICY_PATH,
  splitLegacyName,
  type LoadResult,
} from '../../src/parser/loader.js';
import { LEGACY_DIR, memTree, POLICY_DIR } from '../helpers/policy.js';

t.test('policy directories', async (t) => {
  const D = POLICY_DIR;
  const RULE = 'svc * @anyvm @anyvm allow';

  function load(files: Record<string, string>, paths: readonly string[] = [D], fs?: FileSource): LoadResult {
    return loadPolicy({ paths, legacyPath: LEGACY_DIR, fs: fs ?? memTree(files) });
  }

  /** `file:line text` for every rule. */
  function where(r: LoadResult): string[] {
    return r.rules.map((x) => `${x.file}:${x.line} ${x.text}`);
  }

  function errs(r: LoadResult): Array<[string, string | null, number | null, string]> {
    return r.errors.map((e) => [e.id, e.file, e.line, e.message]);
  }

  t.test('constants', async (t) => {
    t.same(DEFAULT_POLICY_PATHS, ['/run/qubes/policy.d', '/etc/qubes/policy.d']);
    t.equal(RUNTIME_POLICY_PATH, '/run/qubes/policy.d');
    t.equal(DEFAULT_LEGACY_PATH, '/etc/qubes-rpc/policy');
    t.equal(POLICY_SUFFIX, '.policy');
    t.equal(MAX_INCLUDE_DEPTH, 32);
  });

  t.test('file name helpers', async (t) => {
    t.equal(looksLikePolicyFile('30-user.policy'), true);
    t.equal(looksLikePolicyFile('.30-user.policy'), false, 'dotfile');
    t.equal(looksLikePolicyFile('.policy'), false);
    t.equal(looksLikePolicyFile('x.policy.swp'), false);
    t.equal(looksLikePolicyFile('x.policy~'), false);
    t.equal(looksLikePolicyFile('README'), false);
    t.equal(looksLikePolicyFile('X.POLICY'), false);
    t.equal(looksLikePolicyFile('Upper.policy'), true, 'a candidate, checked for characters later');
    t.equal(isValidPolicyFileName('30-user_a.b.policy'), true);
    for (const bad of ['Upper.policy', 'a@b.policy', 'ü.policy', 'a+b.policy', 'a b.policy', 'a:b.policy']) {
      t.equal(isValidPolicyFileName(bad), false, bad);
    }
    t.equal(isIgnoredLegacyName('.x'), true);
    t.equal(isIgnoredLegacyName('x.rpmsave'), true);
    t.equal(isIgnoredLegacyName('x.rpmnew'), true);
    t.equal(isIgnoredLegacyName('x.swp'), true);
    t.equal(isIgnoredLegacyName('qubes.Filecopy'), false);
    t.equal(isIgnoredLegacyName('x.rpmsave.bak'), false);
    t.same(splitLegacyName('qubes.Filecopy'), { service: 'qubes.Filecopy', argument: null });
    t.same(splitLegacyName('qubes.Filecopy+a+b'), { service: 'qubes.Filecopy', argument: '+a+b' });
    t.same(splitLegacyName('svc+'), { service: 'svc', argument: '+' });
  });

  t.test('ignored names: dotfiles, other suffixes, swap files, directories, README', async (t) => {
    const r = load({
      '30-a.policy': RULE,
      '.hidden.policy': 'garbage garbage',
      '.Hidden.policy': 'garbage garbage',
      '30-a.policy.swp': 'garbage',
      '.30-a.policy.swp': 'garbage',
      '30-a.policy~': 'garbage',
      'README': 'This directory ...',
      'Notes.txt': 'garbage',
      'x.POLICY': 'garbage',
      'dir.policy/inner.policy': 'garbage garbage',
      'Upper-dir.policy/x': 'garbage',
      'include/Upper.policy': 'garbage garbage',
    });
    t.same(errs(r), []);
    t.same(where(r), [`${D}/30-a.policy:1 ${RULE}`]);
    t.same(r.files, [`${D}/30-a.policy`]);
    t.same(r.dirs, [D]);
  });

  t.test('invalid file names deny everything, before anything is loaded', async (t) => {
    for (const bad of ['Upper.policy', 'a@b.policy', 'ü.policy', 'a+b.policy', 'a b.policy']) {
      const r = load({ '10-first.policy': RULE, [bad]: RULE, '90-last.policy': RULE });
      t.same(
        r.errors.map((e) => [e.id, e.file, e.line]),
        [['file-name', `${D}/${bad}`, null]],
        bad,
      );
      t.match(r.errors[0]!.message, `invalid filename: ${D}/${bad}`);
      t.same(r.rules, [], `${bad}: no rule loaded at all`);
      t.same(r.files, [], `${bad}: no file read`);
    }
    // all bad names are reported
    const two = load({ 'A.policy': RULE, 'B.policy': RULE });
    t.same(two.errors.map((e) => e.file).sort(), [`${D}/A.policy`, `${D}/B.policy`]);
    // a bad name in a second directory also denies everything
    const fs = memoryFileSource({ '/a/10-x.policy': RULE, '/b/Bad.policy': RULE });
    const r2 = load({}, ['/a', '/b'], fs);
    t.same(r2.errors.map((e) => e.id), ['file-name']);
    t.same(r2.rules, []);
    // a shadowed basename does not matter: the bad name itself is the problem
    const fs3 = memoryFileSource({ '/a/Bad.policy': RULE, '/b/Bad.policy': RULE });
    t.equal(load({}, ['/a', '/b'], fs3).errors.length, 2);
  });

  t.test('byte order of basenames', async (t) => {
    const names = ['ab.policy', 'a_b.policy', 'a0.policy', 'a.policy', 'a-b.policy', '9.policy', '10.policy', '_z.policy', '-z.policy'];
    const files: Record<string, string> = {};
    for (const n of names) files[n] = `svc * @anyvm ${n.replace('.policy', '')} allow`;
    const r = load(files);
    t.same(errs(r), []);
    t.same(
      r.rules.map((x) => x.file.slice(D.length + 1)),
      ['-z.policy', '10.policy', '9.policy', '_z.policy', 'a-b.policy', 'a.policy', 'a0.policy', 'a_b.policy', 'ab.policy'],
    );
    t.same(r.files.map((f) => f.slice(D.length + 1)), r.rules.map((x) => x.file.slice(D.length + 1)), 'files in load order');
  });

  t.test('several policy directories merge by basename, first directory wins', async (t) => {
    const fs = memoryFileSource({
      '/run/p/10-a.policy': 'svc * @anyvm run-a allow',
      '/run/p/50-c.policy': 'svc * @anyvm run-c allow',
      '/etc/p/10-a.policy': 'svc * @anyvm etc-a allow',
      '/etc/p/20-b.policy': 'svc * @anyvm etc-b allow',
      '/etc/p/90-z.policy': 'svc * @anyvm etc-z allow',
      '/third/20-b.policy': 'svc * @anyvm third-b allow',
      '/third/30-d.policy': 'svc * @anyvm third-d allow',
    });
    const r = load({}, ['/run/p', '/etc/p', '/third'], fs);
    t.same(errs(r), []);
    t.same(
      r.rules.map((x) => [x.file, x.target.text]),
      [
        ['/run/p/10-a.policy', 'run-a'],
        ['/etc/p/20-b.policy', 'etc-b'],
        ['/third/30-d.policy', 'third-d'],
        ['/run/p/50-c.policy', 'run-c'],
        ['/etc/p/90-z.policy', 'etc-z'],
      ],
    );
    t.same(r.dirs, ['/run/p', '/etc/p', '/third']);
    // order of directories decides who wins
    const r2 = load({}, ['/etc/p', '/run/p'], fs);
    t.same(r2.rules.map((x) => x.target.text), ['etc-a', 'etc-b', 'run-c', 'etc-z']);
  });

  t.test('missing directories', async (t) => {
    // the runtime directory may be missing
    const fs = memTree({ '30-a.policy': RULE });
    const r = loadPolicy({ fs, legacyPath: LEGACY_DIR });
    t.same(errs(r), [], 'default paths: missing /run/qubes/policy.d is fine');
    t.same(where(r), [`${D}/30-a.policy:1 ${RULE}`]);
    t.same(r.dirs, [D], 'the missing runtime dir is not watched');
    const r1 = load({}, [RUNTIME_POLICY_PATH, D], fs);
    t.same(errs(r1), []);
    t.equal(r1.rules.length, 1);

    // any other missing directory is an error and loads nothing
    const r2 = load({}, ['/nope', D], fs);
    t.same(errs(r2), [['policy-dir', '/nope', null, 'cannot read the policy directory: does not exist']]);
    t.same(r2.rules, [], 'nothing loaded');
    const r3 = load({}, [D, '/etc/qubes/policy.d.missing'], fs);
    t.same(r3.errors.map((e) => e.id), ['policy-dir']);
    t.same(r3.rules, []);
    // /etc/qubes/policy.d itself is not optional
    const r4 = loadPolicy({ fs: memoryFileSource({ '/run/qubes/policy.d/a.policy': RULE }) });
    t.same(r4.errors.map((e) => [e.id, e.file]), [['policy-dir', '/etc/qubes/policy.d']]);
    // no directories at all: an empty policy
    const r5 = load({}, [], fs);
    t.same(r5, { rules: [], errors: [], files: [], dirs: [], notices: [] });
  });

  t.test(
    'the runtime directory spelled with a trailing slash is still optional',
    async (t) => {
      const fs = memTree({ '30-a.policy': RULE });
      const r = load({}, ['/run/qubes/policy.d/', D], fs);
      t.same(r.errors.map((e) => e.id), [], 'no error');
    },
  );

  /** Wraps a FileSource and injects I/O failures (permission errors cannot be made as root). */
  function failing(inner: FileSource, opts: { list?: string; read?: string; plain?: boolean }): FileSource {
    return {
      kind: (p) => inner.kind(p),
      resolve: (p) => inner.resolve(p),
      list(dir) {
        if (dir === opts.list) {
          if (opts.plain) throw new Error('not a FileSourceError');
          throw new FileSourceError(dir, 'permission denied', 'io');
        }
        return inner.list(dir);
      },
      read(file) {
        if (file === opts.read) {
          if (opts.plain) throw new Error('not a FileSourceError');
          throw new FileSourceError(file, 'permission denied', 'io');
        }
        return inner.read(file);
      },
    };
  }

  t.test('unreadable directories and files', async (t) => {
    const base = memoryFileSource({
      '/run/qubes/policy.d/10-a.policy': RULE,
      [`${D}/20-b.policy`]: RULE,
      [`${D}/30-c.policy`]: 'svc * @anyvm c allow',
    });
    const r = load({}, DEFAULT_POLICY_PATHS, failing(base, { list: '/run/qubes/policy.d' }));
    t.same(errs(r), [
      ['policy-dir', '/run/qubes/policy.d', null, 'cannot read the policy directory: permission denied'],
    ], 'an unreadable runtime directory is an error, not skipped');
    t.same(r.rules, []);

    const r2 = load({}, DEFAULT_POLICY_PATHS, failing(base, { read: `${D}/20-b.policy` }));
    t.same(errs(r2), [['file-read', `${D}/20-b.policy`, null, 'permission denied']]);
    t.equal(r2.errors[0]!.describe(), `${D}/20-b.policy: permission denied`, 'the file named once');
    t.same(r2.rules.map((x) => x.file), ['/run/qubes/policy.d/10-a.policy', `${D}/30-c.policy`], 'other files still load');
    t.same(r2.files, ['/run/qubes/policy.d/10-a.policy', `${D}/30-c.policy`], 'unread files are not listed');

    // an included directory that cannot be listed: named at the directive
    const inc = memoryFileSource({ [`${D}/10-a.policy`]: '!include-dir sub\n', [`${D}/sub/x.policy`]: RULE });
    const r3 = load({}, [D], failing(inc, { list: `${D}/sub` }));
    t.same(errs(r3), [['policy-dir', `${D}/10-a.policy`, 1, `cannot read policy directory ${D}/sub: permission denied`]]);

    // anything that is not a FileSourceError is a bug and is not disguised as a policy error
    t.throws(() => load({}, [D], failing(base, { list: D, plain: true })), { message: 'not a FileSourceError' });
    t.throws(() => load({}, [D], failing(base, { read: `${D}/20-b.policy`, plain: true })), {
      message: 'not a FileSourceError',
    });
  });

  t.test('lines: comments, blank lines, trimming, line endings', async (t) => {
    const text = [
      '# a comment',
      '   # an indented comment',
      '',
      '   \t ',
      '  svc * @anyvm one allow  ',
      '#svc * @anyvm commented allow',
      'svc * @anyvm two deny',
    ].join('\n');
    const r = load({ '30-a.policy': text });
    t.same(errs(r), []);
    t.same(where(r), [`${D}/30-a.policy:5 svc * @anyvm one allow`, `${D}/30-a.policy:7 svc * @anyvm two deny`]);

    for (const [name, eol] of [['CRLF', '\r\n'], ['CR', '\r'], ['LF', '\n']] as const) {
      const r2 = load({ '30-a.policy': ['# c', 'svc * @anyvm a allow', '', 'svc * @anyvm b allow', ''].join(eol) });
      t.same(errs(r2), [], name);
      t.same(r2.rules.map((x) => [x.line, x.target.text]), [[2, 'a'], [4, 'b']], `${name}: line numbers`);
    }
    // \x0c, \x0b, \x1c-\x1f, \x85 and U+2028 do not end a line: they are whitespace inside it
    const r3 = load({ '30-a.policy': 'svc\x0c*\x0b@anyvm\x1c@anyvm\x85allow\u2028\nsvc * @anyvm b allow' });
    t.same(errs(r3), []);
    t.same(r3.rules.map((x) => [x.line, x.target.text]), [[1, '@anyvm'], [2, 'b']]);
    // an empty file and a file of only comments are fine
    const r4 = load({ '10-empty.policy': '', '20-c.policy': '# only\n' });
    t.same(r4, { rules: [], errors: [], files: [`${D}/10-empty.policy`, `${D}/20-c.policy`], dirs: [D], notices: [] });
  });

  t.test('a leading BOM is kept: the first line becomes a syntax error', async (t) => {
    const r = load({ '30-a.policy': `\ufeff${RULE}\n${RULE}\n` });
    t.same(
      r.errors.map((e) => [e.id, e.file, e.line, e.column, e.message]),
      [['service-chars', `${D}/30-a.policy`, 1, 1, "service '\\ufeffsvc' contains invalid characters: ('\\ufeff',)"]],
    );
    t.same(r.rules.map((x) => x.line), [2]);
    const c = load({ '30-a.policy': `\ufeff# comment here\n${RULE}\n` });
    t.same(c.errors.map((e) => [e.id, e.line]), [['field-count', 1]], 'a BOM-prefixed comment is not a comment');
  });

  t.test('every error of every file is collected, good rules are kept, columns include indentation', async (t) => {
    const r = load({
      '10-a.policy': ['svc * @anyvm a allow', '   svc * @anyvm b permit', 'svc', 'svc * @anyvm c allow'].join('\n'),
      '20-b.policy': ['\tsvc * @anyvm d deny target=x', '!nope', '  !include'].join('\n'),
    });
    t.same(
      r.errors.map((e) => [e.id, e.file, e.line, e.column]),
      [
        ['action', `${D}/10-a.policy`, 2, 19],
        ['field-count', `${D}/10-a.policy`, 3, 1],
        ['param-invalid', `${D}/20-b.policy`, 1, r.errors[2]?.column ?? -1],
        ['directive', `${D}/20-b.policy`, 2, 1],
        ['directive-params', `${D}/20-b.policy`, 3, 3],
      ],
    );
    t.same(r.rules.map((x) => x.target.text), ['a', 'c']);
    t.equal(r.errors[0]!.describe(), `${D}/10-a.policy:2: invalid action: permit`);
  });

  t.test('PolicyLoader can be driven directly', async (t) => {
    const fs = memTree({ '30-a.policy': RULE });
    const loader = new PolicyLoader({ fs });
    t.equal(loader.loadDirs([D]), loader, 'loadDirs is chainable');
    t.equal(loader.result.rules.length, 1);
    // without options it uses the real file system and default paths
    const real = new PolicyLoader();
    t.same(real.result, { rules: [], errors: [], files: [], dirs: [], notices: [] });
  });
});

t.test('includes and service files', async (t) => {
  const D = POLICY_DIR;

  function load(files: Record<string, string>, opts: { extra?: Record<string, string>; fs?: FileSource; paths?: string[] } = {}): LoadResult {
    const fs = opts.fs ?? memTree(files, { extra: opts.extra ?? {} });
    return loadPolicy({ paths: opts.paths ?? [D], legacyPath: LEGACY_DIR, fs });
  }

  /** `file:line target` for every rule (rules use the target column as a label). */
  function where(r: LoadResult): string[] {
    return r.rules.map((x) => `${x.file.startsWith(D + '/') ? x.file.slice(D.length + 1) : x.file}:${x.line} ${x.target.text}`);
  }

  function errs(r: LoadResult): Array<[string, string | null, number | null, number | null, string]> {
    return r.errors.map((e) => [e.id, e.file, e.line, e.column, e.message]);
  }

  t.test('!include is relative to the top-level file’s policy directory', async (t) => {
    const r = load({
      '30-a.policy': 'svc * @anyvm before allow\n!include include/a\nsvc * @anyvm after allow',
      'include/a': 'svc * @anyvm in-a allow\n!include b',
      b: 'svc * @anyvm top-b allow',
      'include/b': 'svc * @anyvm include-b allow',
    });
    t.same(errs(r), []);
    t.same(where(r), ['30-a.policy:1 before', 'include/a:1 in-a', 'b:1 top-b', '30-a.policy:3 after']);
    t.same(r.files, [`${D}/30-a.policy`, `${D}/include/a`, `${D}/b`], 'files in load order');
    t.equal(r.rules[1]!.file, `${D}/include/a`, 'rule.file is the absolute path of the included file');
  });

  t.test('!include paths: absolute, normalised, per policy directory', async (t) => {
    const r = load(
      {
        '30-a.policy': '!include /srv/shared/common\n!include ./include/../b\n!include include//c',
        b: 'svc * @anyvm b allow',
        'include/c': 'svc * @anyvm c allow',
      },
      { extra: { '/srv/shared/common': 'svc * @anyvm common allow\n!include b' } },
    );
    t.same(errs(r), []);
    t.same(where(r), ['/srv/shared/common:1 common', 'b:1 b', 'b:1 b', 'include/c:1 c'], 'include inside an absolute include is still relative to the policy dir');
    t.same(
      r.rules.map((x) => x.file),
      ['/srv/shared/common', `${D}/b`, `${D}/b`, `${D}/include/c`],
    );

    // each top-level file resolves against its own directory
    const fs = memoryFileSource({
      '/a/10-x.policy': '!include inc',
      '/a/inc': 'svc * @anyvm from-a allow',
      '/b/20-y.policy': '!include inc\n!include-dir inc.d',
      '/b/inc': 'svc * @anyvm from-b allow',
      '/b/inc.d/x.policy': '!include inc',
    });
    const r2 = load({}, { fs, paths: ['/a', '/b'] });
    t.same(errs(r2), []);
    t.same(r2.rules.map((x) => [x.file, x.target.text]), [
      ['/a/inc', 'from-a'],
      ['/b/inc', 'from-b'],
      ['/b/inc', 'from-b'],
    ]);
  });

  t.test('!include of something that is not a file', async (t) => {
    const r = load({
      '30-a.policy': '!include include/nope\n  !include include\nsvc * @anyvm after allow',
      'include/x': 'svc * @anyvm x allow',
    });
    t.same(errs(r), [
      ['include-missing', `${D}/30-a.policy`, 1, 10, `not a file: ${D}/include/nope`],
      ['include-missing', `${D}/30-a.policy`, 2, 12, `not a file: ${D}/include`],
    ]);
    t.same(where(r), ['30-a.policy:3 after'], 'loading goes on after the error');
  });

  t.test('wrong number of parameters', async (t) => {
    const lines = [
      '!include',
      '!include a b',
      '  !include-dir',
      '!include-dir a b',
      '!include-service svc *',
      '!include-service svc * a b',
      '!compat-4.0 x',
    ];
    const r = load({ '30-a.policy': lines.join('\n'), a: 'svc * @anyvm a allow' });
    t.same(
      errs(r),
      lines.map((l, i) => ['directive-params', `${D}/30-a.policy`, i + 1, l.indexOf('!') + 1, 'invalid number of params']),
    );
    t.same(r.rules, []);
  });

  t.test('unknown directives', async (t) => {
    const lines = ['!foo', '!', '!INCLUDE a', '!include-services svc * a', '!compat-4.1', '!compat', '\t!includedir a', '!include:a'];
    const r = load({ '30-a.policy': lines.join('\n'), a: 'svc * @anyvm a allow' });
    t.same(errs(r), lines.map((l, i) => ['directive', `${D}/30-a.policy`, i + 1, l.indexOf('!') + 1, 'invalid directive']));
    // a ! later in the line is no directive
    const r2 = load({ '30-a.policy': 'svc * @anyvm !x allow' });
    t.same(r2.rules.map((x) => x.target.text), ['!x']);
  });

  t.test('include cycles', async (t) => {
    const r = load({
      '30-a.policy': 'svc * @anyvm a1 allow\n!include include/b\nsvc * @anyvm a3 allow',
      'include/b': 'svc * @anyvm b1 allow\n!include 30-a.policy\nsvc * @anyvm b3 allow',
    });
    t.same(errs(r), [
      ['include-cycle', `${D}/include/b`, 2, 10, `include cycle: ${D}/30-a.policy -> ${D}/include/b -> ${D}/30-a.policy`],
    ]);
    t.same(where(r), ['30-a.policy:1 a1', 'include/b:1 b1', 'include/b:3 b3', '30-a.policy:3 a3']);

    const self = load({ '30-a.policy': 'svc * @anyvm a1 allow\n!include ./30-a.policy' });
    t.same(errs(self), [
      ['include-cycle', `${D}/30-a.policy`, 2, 10, `include cycle: ${D}/30-a.policy -> ${D}/30-a.policy`],
    ]);
    t.same(where(self), ['30-a.policy:1 a1']);

    const deep = load({
      '30-a.policy': '!include include/x',
      'include/x': '!include include/y',
      'include/y': '!include include/x',
    });
    t.same(errs(deep).map((e) => [e[0], e[1], e[4]]), [
      ['include-cycle', `${D}/include/y`, `include cycle: ${D}/include/x -> ${D}/include/y -> ${D}/include/x`],
    ], 'the chain starts at the repeated file');

    // the same file twice side by side is no cycle
    const diamond = load({
      '30-a.policy': '!include include/x\n!include include/x',
      'include/x': 'svc * @anyvm x allow',
    });
    t.same(errs(diamond), []);
    t.same(where(diamond), ['include/x:1 x', 'include/x:1 x']);

    // a .policy file that is both top-level and included is loaded twice, no cycle
    const twice = load({ '10-a.policy': '!include 20-b.policy', '20-b.policy': 'svc * @anyvm b allow' });
    t.same(errs(twice), []);
    t.same(where(twice), ['20-b.policy:1 b', '20-b.policy:1 b']);

    // service files take part in cycle detection too
    const svc = load({
      '30-a.policy': '!include-service svc * include/s',
      'include/s': '$anyvm s1 allow\n$include:include/s',
    });
    t.same(errs(svc).map((e) => [e[0], e[1], e[2]]), [['include-cycle', `${D}/include/s`, 2]]);
    t.same(where(svc), ['include/s:1 s1']);
  });

  /** A chain: 00-top.policy includes inc/1, inc/k includes inc/k+1, inc/n holds a rule. */
  function chain(n: number, kind: 'policy' | 'service'): Record<string, string> {
    const files: Record<string, string> = {};
    if (kind === 'policy') {
      files['00-top.policy'] = '!include inc/1';
      for (let k = 1; k < n; k++) files[`inc/${k}`] = `!include inc/${k + 1}`;
    } else {
      files['00-top.policy'] = '!include-service svc * inc/1';
      for (let k = 1; k < n; k++) files[`inc/${k}`] = k % 2 ? `$include:inc/${k + 1}` : `!include inc/${k + 1}`;
    }
    files[`inc/${n}`] = kind === 'policy' ? 'svc * @anyvm deepest allow' : '@anyvm deepest allow';
    return files;
  }

  t.test('nesting limit: 32 nested includes load, 33 are an error', async (t) => {
    t.equal(MAX_INCLUDE_DEPTH, 32);
    for (const kind of ['policy', 'service'] as const) {
      const ok = load(chain(32, kind));
      t.same(errs(ok), [], `${kind}: 32 nested includes are fine`);
      t.same(where(ok), ['inc/32:1 deepest'], `${kind}: the deepest rule is loaded`);
      t.equal(ok.files.length, 33, 'top-level file plus 32 includes');

      const bad = load(chain(33, kind));
      t.same(
        errs(bad).map((e) => [e[0], e[1], e[2], e[4]]),
        [['include-depth', `${D}/inc/32`, 1, 'includes nested deeper than 32 levels']],
        `${kind}: the 33rd nested include is refused`,
      );
      t.same(bad.rules, [], `${kind}: nothing from beyond the limit`);
    }
    // a long cycle is reported as a cycle, not as depth
    const files: Record<string, string> = { '00-top.policy': '!include inc/1' };
    for (let k = 1; k <= 40; k++) files[`inc/${k}`] = `!include inc/${k === 40 ? 1 : k + 1}`;
    t.same(load(files).errors.map((e) => e.id), ['include-depth'], 'but beyond 32 levels the depth limit comes first');
    const files2: Record<string, string> = { '00-top.policy': '!include inc/1' };
    for (let k = 1; k <= 10; k++) files2[`inc/${k}`] = `!include inc/${k === 10 ? 1 : k + 1}`;
    t.same(load(files2).errors.map((e) => e.id), ['include-cycle']);
  });

  t.test('!include-dir', async (t) => {
    const r = load({
      '30-a.policy': 'svc * @anyvm before allow\n!include-dir include.d\nsvc * @anyvm after allow',
      'include.d/20-y.policy': 'svc * @anyvm y allow',
      'include.d/10-x.policy': 'svc * @anyvm x allow\n!include b',
      'include.d/README': 'garbage',
      'include.d/.h.policy': 'garbage',
      'include.d/x.policy.swp': 'garbage',
      'include.d/sub.policy/z.policy': 'garbage',
      'include.d/-z.policy': 'svc * @anyvm dash allow',
      b: 'svc * @anyvm b allow',
      'include.d/b': 'svc * @anyvm wrong-b allow',
    });
    t.same(errs(r), []);
    t.same(where(r), [
      '30-a.policy:1 before',
      'include.d/-z.policy:1 dash',
      'include.d/10-x.policy:1 x',
      'b:1 b',
      'include.d/20-y.policy:1 y',
      '30-a.policy:3 after',
    ]);
    t.same(r.dirs, [D, `${D}/include.d`], 'listed directories are recorded');

    const abs = load({ '30-a.policy': '!include-dir /srv/pol' }, { extra: { '/srv/pol/a.policy': 'svc * @anyvm srv allow' } });
    t.same(where(abs), ['/srv/pol/a.policy:1 srv']);

    const notDir = load({ '30-a.policy': '!include-dir nope\n!include-dir 30-a.policy\nsvc * @anyvm after allow' });
    t.same(errs(notDir), [
      ['include-not-dir', `${D}/30-a.policy`, 1, 14, `not a directory: ${D}/nope`],
      ['include-not-dir', `${D}/30-a.policy`, 2, 14, `not a directory: ${D}/30-a.policy`],
    ]);
    t.same(where(notDir), ['30-a.policy:3 after']);

    const empty = load({ '30-a.policy': '!include-dir empty' }, { fs: memoryFileSource({ [`${D}/30-a.policy`]: '!include-dir empty' }, [`${D}/empty`]) });
    t.same(errs(empty), []);
    t.same(empty.rules, []);
  });

  t.test('!include-dir: a bad file name there denies, the dir loads nothing', async (t) => {
    const r = load({
      '30-a.policy': '!include-dir inc.d\nsvc * @anyvm after allow',
      'inc.d/10-ok.policy': 'svc * @anyvm ok allow',
      'inc.d/Bad.policy': 'svc * @anyvm bad allow',
    });
    t.same(r.errors.map((e) => [e.id, e.file, e.line]), [['file-name', `${D}/inc.d/Bad.policy`, null]]);
    t.match(r.errors[0]!.message, `invalid filename: ${D}/inc.d/Bad.policy`);
    t.same(where(r), ['30-a.policy:2 after']);
  });

  t.test('!include-dir of the policy directory itself', async (t) => {
    const r = load({ '30-a.policy': '!include-dir .', '40-b.policy': 'svc * @anyvm b allow' });
    t.same(errs(r), [['include-cycle', `${D}/30-a.policy`, 1, 14, `include cycle: ${D}/30-a.policy -> ${D}/30-a.policy`]]);
    t.same(where(r), ['40-b.policy:1 b', '40-b.policy:1 b']);
  });

  t.test('!include-service and the service-file format', async (t) => {
    const r = load({
      '30-a.policy': [
        '!include-service qubes.Filecopy * include/fc',
        '!include-service qubes.Gpg +key include/gpg',
        '!include-service * * include/all',
        '!include-service svc + include/gpg',
      ].join('\n'),
      'include/fc': [
        '$anyvm $anyvm allow,target=dom0',
        '# comment',
        '',
        '  $include:include/common',
        '!include include/common2',
        'work vault ask,default_target=vault user=u',
        '$tag:t $dispvm:$tag:d allow notify=yes,autostart=no',
      ].join('\n'),
      'include/common': '$anyvm $dispvm allow',
      'include/common2': '$tag:x $anyvm deny notify=no',
      'include/gpg': 'work @anyvm allow',
      'include/all': '$anyvm $adminvm deny',
    });
    t.same(errs(r), []);
    t.same(
      r.rules.map((x) => [x.service, x.argument, x.file.slice(D.length + 1), x.line, x.format, x.text]),
      [
        ['qubes.Filecopy', null, 'include/fc', 1, 'service', '$anyvm $anyvm allow,target=dom0'],
        ['qubes.Filecopy', null, 'include/common', 1, 'service', '$anyvm $dispvm allow'],
        ['qubes.Filecopy', null, 'include/common2', 1, 'service', '$tag:x $anyvm deny notify=no'],
        ['qubes.Filecopy', null, 'include/fc', 6, 'service', 'work vault ask,default_target=vault user=u'],
        ['qubes.Filecopy', null, 'include/fc', 7, 'service', '$tag:t $dispvm:$tag:d allow notify=yes,autostart=no'],
        ['qubes.Gpg', '+key', 'include/gpg', 1, 'service', 'work @anyvm allow'],
        [null, null, 'include/all', 1, 'service', '$anyvm $adminvm deny'],
        ['svc', '+', 'include/gpg', 1, 'service', 'work @anyvm allow'],
      ],
    );
    const [fc, common, common2, ask, tagged] = r.rules;
    t.match(fc, { source: { kind: 'anyvm' }, target: { kind: 'anyvm' }, redirect: { kind: 'adminvm' }, action: 'allow' });
    t.match(common, { target: { kind: 'dispvm' } });
    t.match(common2, { source: { kind: 'tag', tag: 'x' }, action: 'deny', notify: false });
    t.match(ask, { action: 'ask', defaultTarget: { text: 'vault' }, user: 'u', params: ['default_target=vault', 'user=u'] });
    t.match(tagged, { source: { kind: 'tag' }, target: { kind: 'dispvm-tag', tag: 'd' }, notify: true, autostart: false });
    t.match(r.rules[6], { target: { kind: 'adminvm' } });
    t.same(r.files.map((f) => f.slice(D.length + 1)), [
      '30-a.policy',
      'include/fc',
      'include/common',
      'include/common2',
      'include/gpg',
      'include/all',
      'include/gpg',
    ]);
  });

  t.test('!include-service: bad service / argument, missing file', async (t) => {
    const lines = [
      '!include-service * +x include/s',
      '!include-service sv/c * include/s',
      '!include-service svc x include/s',
      '!include-service svc +a/b include/s',
      '!include-service svc * include/nope',
      '!include-service svc * include',
    ];
    const r = load({ '30-a.policy': lines.join('\n'), 'include/s': '@anyvm @anyvm allow' });
    t.same(errs(r), [
      ['wildcard-service-argument', `${D}/30-a.policy`, 1, 20, 'only * argument allowed for * service'],
      ['service-chars', `${D}/30-a.policy`, 2, 18, "service 'sv/c' contains invalid characters: ('/',)"],
      ['argument-plus', `${D}/30-a.policy`, 3, 22, "argument 'x' does not start with +"],
      ['argument-chars', `${D}/30-a.policy`, 4, 22, "argument '+a/b' contains invalid characters: ('/',)"],
      ['include-missing', `${D}/30-a.policy`, 5, 24, `not a file: ${D}/include/nope`],
      ['include-missing', `${D}/30-a.policy`, 6, 24, `not a file: ${D}/include`],
    ]);
    t.same(r.rules, [], 'nothing loaded for a bad service or argument');
    t.same(r.files, [`${D}/30-a.policy`]);
  });

  t.test('!include-service written with tabs, indents and trailing blanks: the path\'s column as written', async (t) => {
    const lines = ['\t!include-service\tsvc\t+x\t  include/nope  ', '  !include-service  svc *\tinclude/gone', '!include-service svc * inc\u00a0x'];
    const r = load({ '30-a.policy': lines.join('\n') });
    t.same(errs(r), [
      ['include-missing', `${D}/30-a.policy`, 1, lines[0]!.indexOf('include/nope') + 1, `not a file: ${D}/include/nope`],
      ['include-missing', `${D}/30-a.policy`, 2, lines[1]!.indexOf('include/gone') + 1, `not a file: ${D}/include/gone`],
      // Python whitespace inside: four fields, read the general way
      ['directive-params', `${D}/30-a.policy`, 3, 1, 'invalid number of params'],
    ]);
  });

  t.test('errors inside service files name that file and line', async (t) => {
    const r = load({
      '30-a.policy': '!include-service svc * include/s',
      'include/s': [
        '@anyvm @anyvm allow',
        'svc * @anyvm @anyvm allow',
        '  work permit',
        '  work vault permit',
        '!include-dir include',
        '!compat-4.0',
        '!include-service svc * include/t',
        '!include',
        '$include:',
        '!include a b',
        '$include:include/nope',
        '@anyvm @default allow',
        'work vault allow,foo=bar',
        '$default $anyvm allow',
      ].join('\n'),
    });
    const S = `${D}/include/s`;
    t.same(errs(r), [
      ['action', S, 2, 7, 'invalid action: @anyvm'],
      ['param-syntax', S, 2, 14, "invalid action parameter syntax: '@anyvm'"],
      ['param-syntax', S, 2, 21, "invalid action parameter syntax: 'allow'"],
      ['field-count', S, 3, 3, 'wrong number of fields'],
      ['action', S, 4, 14, 'invalid action: permit'],
      ['directive', S, 5, 1, 'invalid directive'],
      ['directive', S, 6, 1, 'invalid directive'],
      ['directive', S, 7, 1, 'invalid directive'],
      ['directive-params', S, 8, 1, 'invalid number of params'],
      ['directive-params', S, 9, 1, 'invalid number of params'],
      ['directive-params', S, 10, 1, 'invalid number of params'],
      ['include-missing', S, 11, 10, `not a file: ${D}/include/nope`],
      ['default-allow-target', S, 12, 8, 'allow action for @default rule must specify target= option'],
      ['param-invalid', S, 13, r.errors[13]?.column ?? -1, "invalid parameters for action Allow: ['foo=bar']"],
      ['source-token', S, 14, 1, "invalid source token: '@default'"],
    ]);
    t.same(where(r), ['include/s:1 @anyvm']);
  });

  t.test('$ and commas are only translated in service files', async (t) => {
    const r = load({ '30-a.policy': 'svc * $anyvm $anyvm allow' });
    t.same(errs(r), []);
    t.match(r.rules[0], { source: { kind: 'qube', text: '$anyvm' }, target: { kind: 'qube', text: '$anyvm' } });
    const r2 = load({ '30-a.policy': 'svc * @anyvm x allow,target=y' });
    t.same(errs(r2), [['action', `${D}/30-a.policy`, 1, 16, 'invalid action: allow,target=y']], 'a comma glues to the action');
  });
});

t.test('!compat-4.0 and --legacy', async (t) => {
  const D = POLICY_DIR;
  const L = LEGACY_DIR;

  function load(files: Record<string, string>, legacy?: Record<string, string>, dirs: string[] = []): LoadResult {
    const fs = memTree(files, legacy ? { legacy, dirs } : { dirs });
    return loadPolicy({ paths: [D], legacyPath: L, fs });
  }

  function short(file: string): string {
    return file.startsWith(L + '/') ? `L/${file.slice(L.length + 1)}` : file.startsWith(D + '/') ? file.slice(D.length + 1) : file;
  }

  const GARBAGE = 'this is not a policy line at all';

  t.test('!compat-4.0 loads the legacy directory in R4.0 order with implicit denies', async (t) => {
    const r = load(
      { '35-compat.policy': 'svc * @anyvm before allow\n!compat-4.0\nsvc * @anyvm after allow' },
      {
        'qubes.Filecopy': '$anyvm $anyvm ask',
        'qubes.Filecopy+foo': '$anyvm work allow\n$include:include/common',
        'qubes.Filecopy+bar': 'work vault allow',
        'qubes.Filecopy+': 'work personal allow',
        'qubes.Filecopy+_u': 'work u allow',
        'qubes.Filecopy+Z': 'work z allow',
        'a.svc': '$anyvm $anyvm deny',
        'B.svc+x': '$anyvm $anyvm deny',
        '.hidden': GARBAGE,
        '.hidden+x': GARBAGE,
        'x.rpmsave': GARBAGE,
        'x.rpmnew': GARBAGE,
        'qubes.Filecopy.swp': GARBAGE,
        'bad name': GARBAGE,
        'bad@name': GARBAGE,
        'bad*': GARBAGE,
        'qubes.Filecopy+ü': GARBAGE,
        'sub/inner': GARBAGE,
        'include/common': '$anyvm common allow',
      },
    );
    t.same(r.errors, []);
    t.same(
      r.rules.map((x) => [short(x.file), x.line, x.service, x.argument, x.text]),
      [
        ['35-compat.policy', 1, 'svc', null, 'svc * @anyvm before allow'],
        ['L/B.svc+x', 1, 'B.svc', '+x', '$anyvm $anyvm deny'],
        ['L/B.svc+x', null, 'B.svc', '+x', '@anyvm @anyvm deny'],
        ['L/B.svc+x', null, 'B.svc', '+x', '@anyvm @adminvm deny'],
        ['L/a.svc', 1, 'a.svc', null, '$anyvm $anyvm deny'],
        ['L/qubes.Filecopy+', 1, 'qubes.Filecopy', '+', 'work personal allow'],
        ['L/qubes.Filecopy+', null, 'qubes.Filecopy', '+', '@anyvm @anyvm deny'],
        ['L/qubes.Filecopy+', null, 'qubes.Filecopy', '+', '@anyvm @adminvm deny'],
        ['L/qubes.Filecopy+Z', 1, 'qubes.Filecopy', '+Z', 'work z allow'],
        ['L/qubes.Filecopy+Z', null, 'qubes.Filecopy', '+Z', '@anyvm @anyvm deny'],
        ['L/qubes.Filecopy+Z', null, 'qubes.Filecopy', '+Z', '@anyvm @adminvm deny'],
        ['L/qubes.Filecopy+_u', 1, 'qubes.Filecopy', '+_u', 'work u allow'],
        ['L/qubes.Filecopy+_u', null, 'qubes.Filecopy', '+_u', '@anyvm @anyvm deny'],
        ['L/qubes.Filecopy+_u', null, 'qubes.Filecopy', '+_u', '@anyvm @adminvm deny'],
        ['L/qubes.Filecopy+bar', 1, 'qubes.Filecopy', '+bar', 'work vault allow'],
        ['L/qubes.Filecopy+bar', null, 'qubes.Filecopy', '+bar', '@anyvm @anyvm deny'],
        ['L/qubes.Filecopy+bar', null, 'qubes.Filecopy', '+bar', '@anyvm @adminvm deny'],
        ['L/qubes.Filecopy+foo', 1, 'qubes.Filecopy', '+foo', '$anyvm work allow'],
        ['L/include/common', 1, 'qubes.Filecopy', '+foo', '$anyvm common allow'],
        ['L/qubes.Filecopy+foo', null, 'qubes.Filecopy', '+foo', '@anyvm @anyvm deny'],
        ['L/qubes.Filecopy+foo', null, 'qubes.Filecopy', '+foo', '@anyvm @adminvm deny'],
        ['L/qubes.Filecopy', 1, 'qubes.Filecopy', null, '$anyvm $anyvm ask'],
        ['35-compat.policy', 3, 'svc', null, 'svc * @anyvm after allow'],
      ],
    );
    const implicit = r.rules.filter((x) => x.line === null);
    t.equal(implicit.length, 12);
    for (const x of implicit) {
      t.equal(x.format, 'implicit');
      t.equal(x.action, 'deny');
      t.equal(x.notify, true);
      t.match(x.source, { kind: 'anyvm' });
    }
    t.equal(r.rules[1]!.format, 'service');
    t.same(r.dirs, [D, L]);
    t.same(r.files.map(short), [
      '35-compat.policy',
      'L/B.svc+x',
      'L/a.svc',
      'L/qubes.Filecopy+',
      'L/qubes.Filecopy+Z',
      'L/qubes.Filecopy+_u',
      'L/qubes.Filecopy+bar',
      'L/qubes.Filecopy+foo',
      'L/include/common',
      'L/qubes.Filecopy',
    ]);
    t.same(
      [...r.notices].sort(),
      [
        `${D}/35-compat.policy:2: !compat-4.0 is transitional and will be deprecated`,
        `ignoring ${L}/bad name (invalid characters in name)`,
        `ignoring ${L}/bad* (invalid characters in name)`,
        `ignoring ${L}/bad@name (invalid characters in name)`,
        `ignoring ${L}/include (not a file)`,
        `ignoring ${L}/qubes.Filecopy+ü (invalid characters in name)`,
        `ignoring ${L}/sub (not a file)`,
      ].sort(),
      'skipped names are noted; dotfiles and editor/package leftovers silently',
    );
  });

  t.test('!compat-4.0 problems', async (t) => {
    // missing legacy directory: an error naming it, at the directive
    const missing = load({ '35-compat.policy': 'svc * @anyvm before allow\n  !compat-4.0\nsvc * @anyvm after allow' });
    t.same(
      missing.errors.map((e) => [e.id, e.file, e.line, e.column, e.message]),
      [['legacy-dir', `${D}/35-compat.policy`, 2, 3, `cannot read legacy policy directory ${L}: does not exist`]],
    );
    t.same(missing.rules.map((x) => x.line), [1, 3]);

    // an empty legacy directory is fine
    const empty = load({ '35-compat.policy': '!compat-4.0' }, {});
    t.same(empty.errors, []);
    t.same(empty.rules, []);
    t.same(empty.dirs, [D, L]);

    // errors in legacy files name that file and line
    const bad = load(
      { '35-compat.policy': '!compat-4.0' },
      {
        'qubes.A': '$anyvm $anyvm allow\n  work vault permit now\n!compat-4.0\n$include:nope',
        'qubes.B+x': '$anyvm $anyvm allow,target=*',
      },
    );
    t.same(bad.errors.map((e) => [e.id, short(e.file!), e.line, e.column, e.message]), [
      ['action', 'L/qubes.A', 2, 14, 'invalid action: permit'],
      ['param-syntax', 'L/qubes.A', 2, 21, "invalid action parameter syntax: 'now'"],
      ['directive', 'L/qubes.A', 3, 1, 'invalid directive'],
      ['include-missing', 'L/qubes.A', 4, 10, `not a file: ${L}/nope`],
      ['redirect-token', 'L/qubes.B+x', 1, 21, "invalid redirect token: '*'"],
    ]);
    // the implicit rules still follow the specific file
    t.same(bad.rules.map((x) => [short(x.file), x.line]), [
      ['L/qubes.A', 1],
      ['L/qubes.B+x', null],
      ['L/qubes.B+x', null],
    ]);

    // wrong parameter count
    const params = load({ '35-compat.policy': '!compat-4.0 now' }, { 'qubes.A': '$anyvm $anyvm allow' });
    t.same(params.errors.map((e) => [e.id, e.message]), [['directive-params', 'invalid number of params']]);
    t.same(params.rules, []);

    // loaded as often as it appears
    const twice = load({ '35-compat.policy': '!compat-4.0\n!compat-4.0' }, { 'qubes.A': '$anyvm $anyvm allow' });
    t.same(twice.errors, []);
    t.equal(twice.rules.length, 2);

    // a legacy file that includes itself
    const cyc = load({ '35-compat.policy': '!compat-4.0' }, { 'qubes.A': '$include:qubes.A' });
    t.same(cyc.errors.map((e) => [e.id, short(e.file!), e.line]), [['include-cycle', 'L/qubes.A', 1]]);
    t.match(cyc.errors[0]!.message, `include cycle: ${L}/qubes.A -> ${L}/qubes.A`);

    // legacy files count as nested includes of the file holding !compat-4.0
    const files: Record<string, string> = { '00-top.policy': '!include inc/1' };
    for (let k = 1; k < 32; k++) files[`inc/${k}`] = `!include inc/${k + 1}`;
    files['inc/32'] = '!compat-4.0';
    const deep = load(files, { 'qubes.A': '$anyvm $anyvm allow', 'qubes.B+x': '$anyvm $anyvm allow' });
    t.same(
      deep.errors.map((e) => [e.id, short(e.file!), e.line, e.message]),
      [
        ['include-depth', 'inc/32', 1, 'includes nested deeper than 32 levels'],
        ['include-depth', 'inc/32', 1, 'includes nested deeper than 32 levels'],
      ],
      'one error per legacy file that would be too deep',
    );
    t.same(deep.rules, [], 'not even the implicit denies of a file that was not loaded');
    files['inc/31'] = '!compat-4.0';
    t.same(load(files, { 'qubes.A': '$anyvm $anyvm allow' }).errors, [], 'one level less is fine');
  });

  t.test('!compat-4.0 when the legacy directory is the policy directory', async (t) => {
    // the file holding !compat-4.0 is itself a legacy file name: it would include itself
    const fs = memoryFileSource({ [`${D}/35-compat.policy`]: '!compat-4.0', [`${D}/qubes.A`]: '$anyvm $anyvm allow' });
    const r = loadPolicy({ paths: [D], legacyPath: D, fs });
    t.same(
      r.errors.map((e) => [e.id, short(e.file!), e.line, e.message]),
      [['include-cycle', '35-compat.policy', 1, `include cycle: ${D}/35-compat.policy -> ${D}/35-compat.policy`]],
    );
    t.same(r.rules.map((x) => x.file), [`${D}/qubes.A`]);
  });

  t.test('!compat-4.0 is not recursive', async (t) => {
    // files that !compat-4.0 loads are service files, where !compat-4.0 is no directive at all
    // (covered above); the policy-format guard is reachable through loadPolicyFile
    const fs = memTree({}, { legacy: { 'qubes.A': '$anyvm $anyvm allow' }, extra: { '/x/p': '!compat-4.0\nsvc * @anyvm x allow' } });
    const loader = new PolicyLoader({ fs, legacyPath: L });
    loader.loadPolicyFile('/x/p', { baseDir: '/x', stack: ['/x/p'], inLegacy: true });
    t.same(
      loader.result.errors.map((e) => [e.id, e.file, e.line, e.column, e.message]),
      [['compat-recursive', '/x/p', 1, 1, '!compat-4.0 is not recursive']],
    );
    t.same(loader.result.rules.map((x) => x.line), [2]);
    const ok = new PolicyLoader({ fs, legacyPath: L });
    ok.loadPolicyFile('/x/p', { baseDir: '/x', stack: ['/x/p'], inLegacy: false });
    t.same(ok.result.errors, []);
    t.equal(ok.result.rules.length, 2);
  });

  t.test('listLegacyDir', async (t) => {
    const fs = memoryFileSource({
      [`${L}/b`]: '',
      [`${L}/a+2`]: '',
      [`${L}/a`]: '',
      [`${L}/a+1`]: '',
      [`${L}/a+`]: '',
      [`${L}/A+z`]: '',
      [`${L}/.x`]: '',
      [`${L}/d/e`]: '',
    });
    const r = listLegacyDir(fs, L);
    t.ok('entries' in r);
    if (!('entries' in r)) return;
    t.same(r.entries.map((e) => [e.service, e.argument, e.file]), [
      ['A', '+z', `${L}/A+z`],
      ['a', '+', `${L}/a+`],
      ['a', '+1', `${L}/a+1`],
      ['a', '+2', `${L}/a+2`],
      ['a', null, `${L}/a`],
      ['b', null, `${L}/b`],
    ]);
    t.same(r.skipped, [`ignoring ${L}/d (not a file)`]);
    t.same(listLegacyDir(fs, '/nope'), { error: 'cannot read legacy policy directory /nope: does not exist' });
    // a non-FileSourceError is a bug and propagates
    const broken = { ...fs, list: () => { throw new RangeError('bug'); } };
    t.throws(() => listLegacyDir(broken, L), RangeError);
  });

  t.test('loadLegacyService (--legacy)', async (t) => {
    const legacy = {
      'qubes.Filecopy+foo': 'work vault allow',
      'qubes.Filecopy': '$anyvm $anyvm ask\n$include:include/x',
      'qubes.Filecopy+x.swp': 'work swp allow',
      'qubes.Filecopy+dir/inner': 'work dir allow',
      'include/x': '$anyvm $anyvm deny',
      'qubes.Bad': 'work permit\n$anyvm $anyvm allow',
      '.hidden': '$anyvm $anyvm allow',
    };
    const fs = memTree({}, { legacy });
    const opts = { legacyPath: L, fs };

    const specific = loadLegacyService('qubes.Filecopy', '+foo', opts);
    t.same(specific.errors, []);
    t.same(specific.rules!.map((x) => [x.service, x.argument, short(x.file), x.line, x.format]), [
      ['qubes.Filecopy', '+foo', 'L/qubes.Filecopy+foo', 1, 'service'],
    ], 'SVC+ARG is preferred, and no implicit rules are added');
    t.same(specific.files, [`${L}/qubes.Filecopy+foo`]);

    const generic = loadLegacyService('qubes.Filecopy', '+bar', opts);
    t.same(generic.errors, []);
    t.same(generic.rules!.map((x) => [x.service, x.argument, short(x.file), x.line]), [
      ['qubes.Filecopy', null, 'L/qubes.Filecopy', 1],
      ['qubes.Filecopy', null, 'L/include/x', 1],
    ], 'SVC otherwise; $include: is relative to the legacy directory');
    t.same(generic.files, [`${L}/qubes.Filecopy`, `${L}/include/x`]);

    t.equal(loadLegacyService('qubes.Filecopy', '+', opts).rules![0]!.file, `${L}/qubes.Filecopy`, 'empty argument');
    t.equal(loadLegacyService('qubes.Filecopy', '+x.swp', opts).rules![0]!.file, `${L}/qubes.Filecopy`, 'ignored name skipped');
    t.equal(loadLegacyService('qubes.Filecopy', '+dir', opts).rules![0]!.file, `${L}/qubes.Filecopy`, 'a directory is skipped');
    t.equal(loadLegacyService('qubes.Filecopy', '+a b', opts).rules![0]!.file, `${L}/qubes.Filecopy`, 'invalid characters skipped');

    t.same(loadLegacyService('qubes.Nope', '+', opts), { rules: null, errors: [], files: [] }, 'neither: not found');
    t.same(loadLegacyService('.hidden', '+', opts), { rules: null, errors: [], files: [] }, 'dotfiles are never policy');
    t.same(loadLegacyService('include', '+', opts), { rules: null, errors: [], files: [] }, 'a directory is no policy');

    const bad = loadLegacyService('qubes.Bad', '+', opts);
    t.same(bad.errors.map((e) => [e.id, short(e.file!), e.line]), [['field-count', 'L/qubes.Bad', 1]]);
    t.same(bad.rules!.map((x) => x.line), [2], 'rules and errors both returned');

    const noDir = loadLegacyService('qubes.Filecopy', '+', { legacyPath: '/nope', fs });
    t.same(noDir.rules, null);
    t.same(noDir.errors.map((e) => [e.id, e.file, e.line, e.message]), [
      ['legacy-dir', '/nope', null, 'the legacy policy directory does not exist'],
    ]);

    // default legacy path
    t.equal(loadLegacyService('qubes.Filecopy', '+foo', { fs }).rules!.length, 1, 'defaults to /etc/qubes-rpc/policy');
  });
});

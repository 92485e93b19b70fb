/**
 * The pure layers of the parser: src/parser/text.ts (Python-compatible text
 * primitives), src/parser/tokens.ts (the SPEC §3.1 token table) and
 * src/parser/rule.ts (rule lines, every syntax error with message and column).
 * One file so the suite starts one TypeScript process, not three.
 */
import t, { type Test } from 'tap';
import fc from 'fast-check';
import { PolicyError } from '../../src/parser/errors.js';
import {
  actionText,
  checkServiceArgument,
  implicitCompatRules,
  normaliseServiceLine,
  parsePolicyLine,
  parseServiceLine,
  type ParsedRule,
} from '../../src/parser/rule.js';
import {
  byteCompare,
  CHARSET,
  invalidChars,
  isPyWhitespace,
  pyRepr,
  pyStrip,
  splitFields,
  splitLines,
} from '../../src/parser/text.js';
import {
  isDom0Text,
  isTokenAllowed,
  parseToken,
  qubeRef,
  TokenError,
  ZERO_UUID,
  type TokenContext,
  type TokenKind,
} from '../../src/parser/tokens.js';

t.test('src/parser/text.ts', async (t) => {
  /** Exactly the characters for which Python 3's str.isspace() is true. */
  const PYTHON_WHITESPACE = [
    0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003,
    0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
  ];

  t.test('isPyWhitespace is exactly Python str.isspace()', async (t) => {
    const expected = new Set(PYTHON_WHITESPACE);
    const mismatches: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      if (isPyWhitespace(String.fromCodePoint(cp)) !== expected.has(cp)) mismatches.push(cp.toString(16));
    }
    t.same(mismatches, [], 'no code point differs from Python');
    // the ones JavaScript's \s gets wrong in each direction
    t.equal(isPyWhitespace('\ufeff'), false, 'BOM is not whitespace');
    t.equal(isPyWhitespace('\u180e'), false, 'Mongolian vowel separator is not whitespace');
    t.equal(isPyWhitespace('\u200b'), false, 'zero width space is not whitespace');
    for (const ch of ['\x1c', '\x1d', '\x1e', '\x1f', '\x85']) t.equal(isPyWhitespace(ch), true, `U+${ch.charCodeAt(0).toString(16)}`);
    t.equal(isPyWhitespace('ab'), false, 'not a single character');
  });

  t.test('splitFields splits like Python str.split() and records 1-based columns', async (t) => {
    t.same(splitFields('a b'), [
      { text: 'a', column: 1 },
      { text: 'b', column: 3 },
    ]);
    t.same(splitFields('  a\t\tbb   c  '), [
      { text: 'a', column: 3 },
      { text: 'bb', column: 6 },
      { text: 'c', column: 11 },
    ]);
    t.same(splitFields(''), []);
    t.same(splitFields(' \t\x0b '), []);
    t.same(splitFields('x', 4), [{ text: 'x', column: 5 }], 'column offset is added');
    for (const sep of ['\t', '\x0b', '\x0c', '\x1c', '\x1d', '\x1e', '\x1f', '\x85', '\xa0', '\u1680', '\u2000', '\u2028', '\u2029', '\u3000']) {
      t.same(
        splitFields(`a${sep}b`).map((f) => f.text),
        ['a', 'b'],
        `U+${sep.charCodeAt(0).toString(16).padStart(4, '0')} separates fields`,
      );
    }
    for (const glue of ['\ufeff', '\u200b', '\u180e', '\u00ad']) {
      t.same(
        splitFields(`a${glue}b`).map((f) => f.text),
        [`a${glue}b`],
        `U+${glue.charCodeAt(0).toString(16).padStart(4, '0')} does not separate fields`,
      );
    }
    t.same(
      splitFields('\ufeffsvc *').map((f) => f.text),
      ['\ufeffsvc', '*'],
      'a leading BOM stays part of the first field',
    );
  });

  t.test('pyStrip strips like Python str.strip() and reports the left offset', async (t) => {
    t.same(pyStrip('  a b \t'), { text: 'a b', offset: 2 });
    t.same(pyStrip('a'), { text: 'a', offset: 0 });
    t.same(pyStrip('   '), { text: '', offset: 3 });
    t.same(pyStrip(''), { text: '', offset: 0 });
    t.same(pyStrip('\x0c\x1c\x85\xa0x\u3000\u2029'), { text: 'x', offset: 4 });
    t.same(pyStrip('\ufeffx\ufeff'), { text: '\ufeffx\ufeff', offset: 0 }, 'BOM is not stripped');
    t.same(pyStrip(' \ufeff x'), { text: '\ufeff x', offset: 1 });
  });

  t.test('splitLines uses universal newlines only (CRLF, CR, LF)', async (t) => {
    t.same(splitLines(''), []);
    t.same(splitLines('\n'), [''], 'a lone newline is one empty line');
    t.same(splitLines('a'), ['a'], 'no final newline');
    t.same(splitLines('a\n'), ['a']);
    t.same(splitLines('a\n\n'), ['a', ''], 'a trailing empty line is kept (only the final terminator goes)');
    t.same(splitLines('a\r\nb\r\n'), ['a', 'b'], 'CRLF');
    t.same(splitLines('a\rb\r'), ['a', 'b'], 'lone CR');
    t.same(splitLines('a\r\n\nb\rc\n'), ['a', '', 'b', 'c'], 'mixed');
    t.same(splitLines('a\n\rb'), ['a', '', 'b'], 'LF then CR is two line breaks');
    t.same(
      splitLines('a\x0bb\x0cc\x1cd\x1de\x1ef\x85g\u2028h\u2029i'),
      ['a\x0bb\x0cc\x1cd\x1de\x1ef\x85g\u2028h\u2029i'],
      'characters str.splitlines() would break on do not end a file line',
    );
  });

  t.test('pyRepr matches Python repr() of a str', async (t) => {
    t.equal(pyRepr(''), "''");
    t.equal(pyRepr('abc'), "'abc'");
    t.equal(pyRepr("it's"), `"it's"`, 'single quote inside: double quotes outside');
    t.equal(pyRepr('a"b'), `'a"b'`);
    t.equal(pyRepr(`a"b'c`), `'a"b\\'c'`, 'both quotes: single quotes, escaped');
    t.equal(pyRepr('a\\b'), "'a\\\\b'", 'backslash doubled');
    t.equal(pyRepr('\n\r\t'), "'\\n\\r\\t'");
    t.equal(pyRepr('\x00\x01\x1f\x7f\x80\x85\x9f'), "'\\x00\\x01\\x1f\\x7f\\x80\\x85\\x9f'");
    t.equal(pyRepr(' '), "' '", 'space is printable');
    t.equal(pyRepr('\u200b\ufeff\u2028\u3000'), "'\\u200b\\ufeff\\u2028\\u3000'", 'format/separator characters');
    t.equal(pyRepr('\u{e0001}'), "'\\U000e0001'", 'astral non-printable');
    t.equal(pyRepr('é😀ß日本'), "'é😀ß日本'", 'printable non-ASCII kept as is');
    t.equal(pyRepr('*'), "'*'");
  });

  t.test('pyRepr escapes non-printable Latin-1 characters as \\xNN like Python', async (t) => {
    t.equal(pyRepr('\xa0'), "'\\xa0'", 'no-break space');
    t.equal(pyRepr('svc\xad'), "'svc\\xad'", 'soft hyphen');
  });

  t.test('byteCompare orders by UTF-8 bytes', async (t) => {
    const names = ['a', '_', 'Z', '0', '9', '.', '-', '+', 'A', 'z'];
    t.same([...names].sort(byteCompare), ['+', '-', '.', '0', '9', 'A', 'Z', '_', 'a', 'z']);
    t.equal(byteCompare('x', 'x'), 0);
    t.ok(byteCompare('a', 'ab') < 0, 'prefix first');
    t.ok(byteCompare('ab', 'a') > 0);
    t.ok(byteCompare('a-b.policy', 'a.policy') < 0);
    t.ok(byteCompare('a.policy', 'a0.policy') < 0);
    t.ok(byteCompare('a0.policy', 'a_b.policy') < 0);
    t.ok(byteCompare('a_b.policy', 'ab.policy') < 0);
    t.ok(byteCompare('B', 'a') < 0, 'uppercase before lowercase (not locale order)');
    t.ok('B'.localeCompare('a') > 0, 'sanity: localeCompare would say otherwise');
    // code point order, not UTF-16 code unit order
    t.ok(byteCompare('\uff01', '\u{1f600}') < 0, 'U+FF01 before U+1F600');
    t.ok(byteCompare('z', 'é') < 0, 'ASCII before non-ASCII');
    t.ok(byteCompare('\u{1f600}', '\uff01') > 0, 'and the other way round');
  });

  t.test('byteCompare agrees with comparing the UTF-8 bytes, for any strings', async (t) => {
    const sign = (n: number) => (n > 0 ? 1 : n < 0 ? -1 : 0);
    const text = fc.oneof(fc.string({ unit: 'grapheme-ascii', maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 6 }), fc.string({ unit: 'grapheme', maxLength: 6 }));
    fc.assert(
      fc.property(text, text, (a, b) => sign(byteCompare(a, b)) === sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')))),
      { numRuns: 3000 },
    );
    t.pass('3,000 pairs');
  });

  t.test('invalidChars lists sorted, unique offending characters', async (t) => {
    t.same(invalidChars('qubes.Filecopy', CHARSET.serviceChar), []);
    t.same(invalidChars('a/b/c*', CHARSET.serviceChar), ['*', '/']);
    t.same(invalidChars('a+b', CHARSET.serviceChar), ['+'], '+ is not allowed in a service');
    t.same(invalidChars('a+b', CHARSET.rpcnameChar), [], '+ is allowed in an rpc name');
    t.same(invalidChars('zé a', CHARSET.rpcnameChar), [' ', 'é']);
    t.same(invalidChars('😀😀', CHARSET.rpcnameChar), ['😀'], 'astral characters are one character');
    t.same(invalidChars('', CHARSET.rpcnameChar), []);
  });

  t.test('invalidChars sorts by code point like Python sorted()', async (t) => {
    t.same(invalidChars('😀！', CHARSET.rpcnameChar), ['！', '😀'], 'U+FF01 before U+1F600');
    t.same(invalidChars('é*', CHARSET.rpcnameChar), ['*', 'é'], 'BMP characters in code point order');
  });

  t.test('CHARSET', async (t) => {
    t.ok(CHARSET.rpcname.test('qubes.Filecopy+a-b_c.D'));
    t.ok(CHARSET.rpcname.test(''));
    t.notOk(CHARSET.rpcname.test('a b'));
    t.ok(CHARSET.service.test('qubes.Filecopy'));
    t.notOk(CHARSET.service.test('a+b'));
    t.ok(CHARSET.policyFileName.test('30-user_x.policy'));
    for (const bad of ['A.policy', 'a@b.policy', 'é.policy', 'a+b.policy', 'a b.policy']) {
      t.notOk(CHARSET.policyFileName.test(bad), bad);
    }
    t.ok(CHARSET.rpcnameChar.test('+'));
    t.notOk(CHARSET.rpcnameChar.test('ab'), 'single character only');
    t.notOk(CHARSET.serviceChar.test('+'));
  });
});

t.test('src/parser/tokens.ts', async (t) => {
  const U = '11111111-2222-4333-8444-555555555555';
  const CONTEXTS: TokenContext[] = ['source', 'target', 'redirect', 'request'];
  /** The word the reference's "invalid X token" message uses per context. */
  const WORD: Record<TokenContext, string> = {
    source: 'source',
    target: 'target',
    redirect: 'redirect',
    request: 'intendedtarget',
  };

  /** SPEC §3.1: token, its kind, and y/– for source, target, redirect (`target=`/`default_target=`), request target. */
  const TABLE: Array<[string, TokenKind, [boolean, boolean, boolean, boolean]]> = [
    ['work', 'qube', [true, true, true, true]],
    [`uuid:${U}`, 'qube', [true, true, true, true]],
    ['@adminvm', 'adminvm', [true, true, true, true]],
    ['dom0', 'adminvm', [true, true, true, true]],
    [`uuid:${ZERO_UUID}`, 'adminvm', [true, true, true, true]],
    ['@anyvm', 'anyvm', [true, true, false, false]],
    ['*', 'any', [true, true, false, false]],
    ['@default', 'default', [false, true, false, true]],
    ['@dispvm', 'dispvm', [false, true, true, true]],
    ['@dispvm:default-dvm', 'dispvm-template', [true, true, true, true]],
    [`@dispvm:uuid:${U}`, 'dispvm-template', [true, true, true, true]],
    ['@dispvm:@tag:web', 'dispvm-tag', [true, true, false, false]],
    ['@tag:work', 'tag', [true, true, false, false]],
    ['@type:AppVM', 'type', [true, true, false, false]],
  ];

  t.test('SPEC §3.1 table: every row in every column', async (t) => {
    for (const [text, kind, cols] of TABLE) {
      CONTEXTS.forEach((ctx, i) => {
        if (cols[i]) {
          const tok = parseToken(text, ctx);
          t.equal(tok.kind, kind, `${text} in ${ctx} is ${kind}`);
          t.equal(tok.text, text, `${text} in ${ctx} keeps its text`);
          t.equal(isTokenAllowed(kind, ctx), true, `isTokenAllowed(${kind}, ${ctx})`);
        } else {
          t.throws(
            () => parseToken(text, ctx),
            new TokenError(`invalid ${WORD[ctx]} token: '${text}'`),
            `${text} in ${ctx} is an error`,
          );
          if (!['dom0'].includes(text)) t.equal(isTokenAllowed(kind, ctx), false, `!isTokenAllowed(${kind}, ${ctx})`);
        }
      });
    }
  });

  t.test('token values', async (t) => {
    t.match(parseToken('work', 'source'), { kind: 'qube', ref: { by: 'name', name: 'work' } });
    t.match(parseToken(`uuid:${U}`, 'target'), { kind: 'qube', ref: { by: 'uuid', uuid: U } });
    t.match(parseToken('@tag:work', 'source'), { kind: 'tag', tag: 'work' });
    t.match(parseToken('@type:TemplateVM', 'target'), { kind: 'type', type: 'TemplateVM' });
    t.match(parseToken('@dispvm:@tag:web', 'target'), { kind: 'dispvm-tag', tag: 'web' });
    t.match(parseToken('@dispvm:default-dvm', 'redirect'), {
      kind: 'dispvm-template',
      ref: { by: 'name', name: 'default-dvm' },
    });
    t.match(parseToken(`@dispvm:uuid:${U}`, 'request'), { kind: 'dispvm-template', ref: { by: 'uuid', uuid: U } });
    t.match(parseToken(`@dispvm:uuid:${ZERO_UUID}`, 'target'), {
      kind: 'dispvm-template',
      ref: { by: 'uuid', uuid: ZERO_UUID },
    });
    t.match(parseToken('@dispvm:dom0', 'target'), { kind: 'dispvm-template', ref: { by: 'name', name: 'dom0' } });
    // dom0 forms keep their spelling but are all adminvm
    for (const ctx of CONTEXTS) {
      t.same(parseToken('dom0', ctx), { kind: 'adminvm', text: 'dom0' });
      t.same(parseToken(`uuid:${ZERO_UUID}`, ctx), { kind: 'adminvm', text: `uuid:${ZERO_UUID}` });
    }
    // anything not starting with @ (and not *) is a name, whatever its characters
    t.match(parseToken('$anyvm', 'source'), { kind: 'qube', ref: { by: 'name', name: '$anyvm' } });
    t.match(parseToken('Dom0', 'target'), { kind: 'qube' }, 'only the exact spelling dom0 is dom0');
    t.match(parseToken('a@b', 'target'), { kind: 'qube' });
    t.match(parseToken('**', 'target'), { kind: 'qube', ref: { by: 'name', name: '**' } });
    t.match(parseToken('uuid:ABC', 'redirect'), { kind: 'qube', ref: { by: 'uuid', uuid: 'ABC' } });
  });

  t.test('empty suffixes are errors in every context that knows the prefix', async (t) => {
    for (const ctx of ['source', 'target'] as const) {
      t.throws(() => parseToken('@tag:', ctx), new TokenError("invalid empty @tag: token: '@tag:'"));
      t.throws(() => parseToken('@type:', ctx), new TokenError("invalid empty @type: token: '@type:'"));
      t.throws(() => parseToken('@dispvm:', ctx), new TokenError("invalid empty @dispvm: token: '@dispvm:'"));
      t.throws(
        () => parseToken('@dispvm:@tag:', ctx),
        new TokenError("invalid empty @dispvm:@tag: token: '@dispvm:@tag:'"),
      );
    }
    for (const ctx of ['redirect', 'request'] as const) {
      t.throws(() => parseToken('@dispvm:', ctx), new TokenError("invalid empty @dispvm: token: '@dispvm:'"));
      // @tag: is not a valid prefix here at all, so it is just an invalid token
      t.throws(() => parseToken('@tag:', ctx), new TokenError(`invalid ${WORD[ctx]} token: '@tag:'`));
      t.throws(() => parseToken('@type:', ctx), new TokenError(`invalid ${WORD[ctx]} token: '@type:'`));
      t.throws(() => parseToken('@dispvm:@tag:', ctx), new TokenError(`invalid ${WORD[ctx]} token: '@dispvm:@tag:'`));
      t.throws(() => parseToken('@dispvm:@tag:x', ctx), new TokenError(`invalid ${WORD[ctx]} token: '@dispvm:@tag:x'`));
    }
  });

  t.test('unknown @words and bad prefixes', async (t) => {
    for (const ctx of CONTEXTS) {
      for (const bad of ['@', '@foo', '@AnyVM', '@dispvm:@something', '@dispvm:@type:AppVM', '@tag:@x', '@type:@x', '@anyvm:x', '@adminvmx', '@dispvmx', '@default:x']) {
        t.throws(() => parseToken(bad, ctx), new TokenError(`invalid ${WORD[ctx]} token: ${bad.includes("'") ? `"${bad}"` : `'${bad}'`}`), `${bad} in ${ctx}`);
      }
    }
    t.throws(() => parseToken('*', 'redirect'), new TokenError("invalid redirect token: '*'"));
    t.throws(() => parseToken('*', 'request'), new TokenError("invalid intendedtarget token: '*'"));
    t.throws(() => parseToken('@default', 'source'), new TokenError("invalid source token: '@default'"));
    t.throws(() => parseToken('@dispvm', 'source'), new TokenError("invalid source token: '@dispvm'"));
    t.throws(() => parseToken('@anyvm', 'request'), new TokenError("invalid intendedtarget token: '@anyvm'"));
    t.throws(() => parseToken('@tag:x', 'redirect'), new TokenError("invalid redirect token: '@tag:x'"));
    // messages use Python repr()
    t.throws(() => parseToken('@x\ty', 'target'), new TokenError("invalid target token: '@x\\ty'"));
    t.throws(() => parseToken("@it's", 'target'), new TokenError(`invalid target token: "@it's"`));
    const err = t.throws(() => parseToken('@foo', 'source'));
    t.type(err, TokenError);
    t.type(err, Error);
  });

  t.test('qubeRef', async (t) => {
    t.same(qubeRef('work'), { by: 'name', name: 'work' });
    t.same(qubeRef(`uuid:${U}`), { by: 'uuid', uuid: U });
    t.same(qubeRef('uuidx'), { by: 'name', name: 'uuidx' });
    t.same(qubeRef('UUID:x'), { by: 'name', name: 'UUID:x' }, 'prefix is case-sensitive');
  });

  t.test('isDom0Text', async (t) => {
    t.equal(isDom0Text('@adminvm'), true);
    t.equal(isDom0Text('dom0'), true);
    t.equal(isDom0Text(`uuid:${ZERO_UUID}`), true);
    t.equal(isDom0Text('uuid:00000000-0000-0000-0000-000000000001'), false);
    t.equal(isDom0Text('@anyvm'), false);
    t.equal(isDom0Text('*'), false);
    t.equal(isDom0Text('Dom0'), false);
  });

  t.test('isTokenAllowed agrees with the table for every kind and context', async (t) => {
    const expected: Record<TokenKind, [boolean, boolean, boolean, boolean]> = {
      qube: [true, true, true, true],
      adminvm: [true, true, true, true],
      anyvm: [true, true, false, false],
      any: [true, true, false, false],
      default: [false, true, false, true],
      dispvm: [false, true, true, true],
      'dispvm-template': [true, true, true, true],
      'dispvm-tag': [true, true, false, false],
      tag: [true, true, false, false],
      type: [true, true, false, false],
    };
    for (const [kind, cols] of Object.entries(expected) as Array<[TokenKind, boolean[]]>) {
      CONTEXTS.forEach((ctx, i) => t.equal(isTokenAllowed(kind, ctx), cols[i], `${kind} in ${ctx}`));
    }
  });
});

t.test('src/parser/rule.ts', async (t) => {
  const AT = { file: '/etc/qubes/policy.d/30-test.policy', line: 7 };

  function errs(p: ParsedRule): Array<[string, string, number | null]> {
    return p.errors.map((e) => [e.id, e.message, e.column]);
  }

  /** The only error of a line: [id, message, column]. */
  function only(t: Test, line: string, id: string, message: string, column: number): void {
    const p = parsePolicyLine(line, AT);
    t.equal(p.rule, null, `${line}: no rule`);
    t.same(errs(p), [[id, message, column]], line);
    for (const e of p.errors) {
      t.type(e, PolicyError);
      t.equal(e.file, AT.file);
      t.equal(e.line, AT.line);
    }
  }

  t.test('a valid rule line', async (t) => {
    const p = parsePolicyLine('qubes.Filecopy  +foo  work\t@tag:t  ask target=@dispvm:dvm user=bob', AT);
    t.same(p.errors, []);
    const r = p.rule!;
    t.equal(r.service, 'qubes.Filecopy');
    t.equal(r.argument, '+foo');
    t.match(r.source, { kind: 'qube', text: 'work' });
    t.match(r.target, { kind: 'tag', tag: 't' });
    t.equal(r.action, 'ask');
    t.match(r.redirect, { kind: 'dispvm-template', text: '@dispvm:dvm' });
    t.equal(r.defaultTarget, null);
    t.equal(r.user, 'bob');
    t.equal(r.autostart, true);
    t.equal(r.notify, false);
    t.same(r.params, ['target=@dispvm:dvm', 'user=bob']);
    t.equal(r.file, AT.file);
    t.equal(r.line, 7);
    t.equal(r.text, 'qubes.Filecopy  +foo  work\t@tag:t  ask target=@dispvm:dvm user=bob', 'text as written');
    t.equal(r.format, 'policy');
    t.equal(actionText(r), 'ask target=@dispvm:dvm user=bob');
  });

  t.test('* service and argument become null; + is the empty argument', async (t) => {
    const any = parsePolicyLine('* * @anyvm @anyvm deny', AT).rule!;
    t.equal(any.service, null);
    t.equal(any.argument, null);
    t.match(any.source, { kind: 'anyvm' });
    t.equal(actionText(any), 'deny');
    const empty = parsePolicyLine('svc + @anyvm @anyvm deny', AT).rule!;
    t.equal(empty.argument, '+');
    const plusplus = parsePolicyLine('svc ++a+ @anyvm @anyvm deny', AT).rule!;
    t.equal(plusplus.argument, '++a+', '+ may repeat inside an argument');
    const chars = parsePolicyLine('A-Za-z0_9.x +A-Za-z0_9.x+ * * deny', AT).rule!;
    t.equal(chars.service, 'A-Za-z0_9.x');
  });

  t.test('parameter defaults', async (t) => {
    const cases: Array<[string, boolean, boolean]> = [
      // line, autostart, notify
      ['s * a b allow', true, false],
      ['s * a b ask', true, false],
      ['s * a b deny', true, true],
      ['s * a b deny notify=no', true, false],
      ['s * a b deny notify=yes', true, true],
      ['s * a b allow notify=yes', true, true],
      ['s * a b allow autostart=no', false, false],
      ['s * a b ask autostart=yes notify=no', true, false],
      ['s * a b ask autostart=no notify=yes', false, true],
    ];
    for (const [line, autostart, notify] of cases) {
      const r = parsePolicyLine(line, AT).rule;
      t.ok(r, line);
      t.equal(r?.autostart, autostart, `${line}: autostart`);
      t.equal(r?.notify, notify, `${line}: notify`);
    }
    const r = parsePolicyLine('s * a b allow', AT).rule!;
    t.equal(r.user, null);
    t.equal(r.redirect, null);
    t.equal(r.defaultTarget, null);
    t.same(r.params, []);
    t.equal(parsePolicyLine('s * a b allow user=', AT).rule?.user, '', 'an empty user is kept as written');
    t.match(parsePolicyLine('s * a b ask default_target=dom0', AT).rule?.defaultTarget, { kind: 'adminvm' });
    t.match(parsePolicyLine('s * a b allow target=x=y', AT).rule?.redirect, { kind: 'qube', text: 'x=y' }, 'split at the first =');
  });

  t.test('params valid per action (SPEC §3 table)', async (t) => {
    const values: Record<string, string> = {
      target: 'vault',
      default_target: 'vault',
      user: 'root',
      autostart: 'no',
      notify: 'yes',
    };
    const table: Record<string, Record<string, boolean>> = {
      target: { allow: true, ask: true, deny: false },
      default_target: { allow: false, ask: true, deny: false },
      user: { allow: true, ask: true, deny: false },
      autostart: { allow: true, ask: true, deny: false },
      notify: { allow: true, ask: true, deny: true },
    };
    const cls: Record<string, string> = { allow: 'Allow', ask: 'Ask', deny: 'Deny' };
    for (const [key, row] of Object.entries(table)) {
      for (const [action, ok] of Object.entries(row)) {
        const param = `${key}=${values[key]}`;
        const line = `svc * @anyvm @anyvm ${action} ${param}`;
        const p = parsePolicyLine(line, AT);
        if (ok) {
          t.same(p.errors, [], `${line} is valid`);
          t.ok(p.rule, `${line} gives a rule`);
        } else {
          t.equal(p.rule, null);
          t.same(
            p.errors.map((e) => [e.id, e.message]),
            [['param-invalid', `invalid parameters for action ${cls[action]}: ['${param}']`]],
            `${line} is invalid`,
          );
        }
      }
    }
    for (const action of ['allow', 'ask', 'deny']) {
      const p = parsePolicyLine(`svc * @anyvm @anyvm ${action} foo=bar`, AT);
      t.same(
        p.errors.map((e) => [e.id, e.message]),
        [['param-invalid', `invalid parameters for action ${cls[action]}: ['foo=bar']`]],
        `unknown key for ${action}`,
      );
    }
    // the message lists every parameter as written, valid ones included
    const p = parsePolicyLine('svc * @anyvm @anyvm deny notify=no user=x target=y', AT);
    t.same(errs(p).map((e) => e[1]), ["invalid parameters for action Deny: ['notify=no', 'user=x', 'target=y']"]);
    t.same(
      errs(parsePolicyLine('svc * @anyvm @anyvm allow =x', AT)).map((e) => e[1]),
      ["invalid parameters for action Allow: ['=x']"],
      'empty key',
    );
    t.same(
      errs(parsePolicyLine('svc * @anyvm @anyvm allow TARGET=x', AT)).map((e) => e[1]),
      ["invalid parameters for action Allow: ['TARGET=x']"],
      'keys are case-sensitive',
    );
  });

  t.test('every SyntaxErrorId a rule line can produce, with message and column', async (t) => {
    only(t, 'svc * @anyvm @anyvm', 'field-count', 'wrong number of fields', 1);
    only(t, 'a', 'field-count', 'wrong number of fields', 1);
    only(t, 'sv/c * @anyvm @anyvm allow', 'service-chars', "service 'sv/c' contains invalid characters: ('/',)", 1);
    only(t, 's+v * @anyvm @anyvm allow', 'service-chars', "service 's+v' contains invalid characters: ('+',)", 1);
    only(
      t,
      'a*b@c * @anyvm @anyvm allow',
      'service-chars',
      "service 'a*b@c' contains invalid characters: ('*', '@')",
      1,
    );
    only(t, 'svc  +a/b @anyvm @anyvm allow', 'argument-chars', "argument '+a/b' contains invalid characters: ('/',)", 6);
    only(t, 'svc foo @anyvm @anyvm allow', 'argument-plus', "argument 'foo' does not start with +", 5);
    only(t, 'svc ** @anyvm @anyvm allow', 'argument-chars', "argument '**' contains invalid characters: ('*',)", 5);
    only(t, '* +foo @anyvm @anyvm allow', 'wildcard-service-argument', 'only * argument allowed for * service', 3);
    only(t, '* + @anyvm @anyvm allow', 'wildcard-service-argument', 'only * argument allowed for * service', 3);
    only(t, 'svc * @default @anyvm allow', 'source-token', "invalid source token: '@default'", 7);
    only(t, 'svc * @dispvm @anyvm allow', 'source-token', "invalid source token: '@dispvm'", 7);
    only(t, 'svc * @tag: @anyvm allow', 'source-token', "invalid empty @tag: token: '@tag:'", 7);
    only(t, 'svc * @anyvm @foo allow', 'target-token', "invalid target token: '@foo'", 14);
    only(t, 'svc * @anyvm @dispvm: allow', 'target-token', "invalid empty @dispvm: token: '@dispvm:'", 14);
    only(t, 'svc * @anyvm @anyvm permit', 'action', 'invalid action: permit', 21);
    only(t, 'svc * @anyvm @anyvm Allow', 'action', 'invalid action: Allow', 21);
    only(t, 'svc * @anyvm @anyvm allow target', 'param-syntax', "invalid action parameter syntax: 'target'", 27);
    only(
      t,
      'svc * @anyvm @anyvm allow #comment',
      'param-syntax',
      "invalid action parameter syntax: '#comment'",
      27,
    );
    only(t, 'svc * @anyvm @anyvm allow user=a user=b', 'param-duplicate', "parameter given twice: 'user'", 34);
    only(
      t,
      'svc * @anyvm @anyvm allow notify=true',
      'param-boolean',
      "'notify' is 'true', but can be only 'yes' or 'no'",
      27,
    );
    only(
      t,
      'svc * @anyvm @anyvm allow autostart=',
      'param-boolean',
      "'autostart' is '', but can be only 'yes' or 'no'",
      27,
    );
    // an empty redirect is an error in Qubes (found by the differential tester: it used to load as "no redirect")
    only(t, 'svc * @anyvm @anyvm allow target=', 'redirect-token', 'invalid empty redirect token', 27);
    only(t, 'svc * @anyvm @anyvm ask default_target=', 'redirect-token', 'invalid empty redirect token', 25);
    only(t, 'svc * @anyvm @anyvm ask target= default_target=work', 'redirect-token', 'invalid empty redirect token', 25);
    t.throws(() => parseToken('', 'redirect'), new TokenError('invalid empty redirect token'));
    only(t, 'svc * @anyvm @anyvm allow target=*', 'redirect-token', "invalid redirect token: '*'", 27);
    only(t, 'svc * @anyvm @anyvm allow target=@anyvm', 'redirect-token', "invalid redirect token: '@anyvm'", 27);
    only(t, 'svc * @anyvm @anyvm allow target=@default', 'redirect-token', "invalid redirect token: '@default'", 27);
    only(t, 'svc * @anyvm @anyvm ask default_target=@tag:x', 'redirect-token', "invalid redirect token: '@tag:x'", 25);
    only(
      t,
      'svc * @anyvm @anyvm ask target=@dispvm:@tag:x',
      'redirect-token',
      "invalid redirect token: '@dispvm:@tag:x'",
      25,
    );
    only(t, 'svc * @anyvm @anyvm ask target=@dispvm:', 'redirect-token', "invalid empty @dispvm: token: '@dispvm:'", 25);
    only(
      t,
      'svc * @anyvm @default allow',
      'default-allow-target',
      'allow action for @default rule must specify target= option',
      14,
    );
    only(
      t,
      'svc * @anyvm @default allow user=x',
      'default-allow-target',
      'allow action for @default rule must specify target= option',
      14,
    );
  });

  t.test('param-invalid points at the first invalid parameter', async (t) => {
    const p = parsePolicyLine('svc * @anyvm @anyvm deny notify=no target=x', AT);
    t.same(p.errors.map((e) => e.id), ['param-invalid']);
    t.equal(p.errors[0]?.column, 36, 'column of target=x');
    const q = parsePolicyLine('svc * @anyvm @anyvm deny target=x', AT);
    t.equal(q.errors[0]?.column, 26, 'column of target=x');
    t.ok((q.errors[0]?.column ?? 0) >= 1, 'column is at least inside the line');
  });

  t.test('@default in the target column', async (t) => {
    t.ok(parsePolicyLine('svc * @anyvm @default allow target=vault', AT).rule, 'allow with target= is fine');
    t.ok(parsePolicyLine('svc * @anyvm @default ask', AT).rule, 'ask needs no target=');
    t.ok(parsePolicyLine('svc * @anyvm @default deny', AT).rule, 'deny needs no target=');
    t.ok(parsePolicyLine('svc * @anyvm @default ask default_target=vault', AT).rule);
    // a bad target= is a redirect error, not the @default one
    t.same(
      errs(parsePolicyLine('svc * @anyvm @default allow target=@anyvm', AT)).map((e) => e[0]),
      ['redirect-token'],
    );
  });

  t.test('columns follow the column offset (leading whitespace in the file)', async (t) => {
    const p = parsePolicyLine('svc * @anyvm @anyvm permit', AT, 4);
    t.same(errs(p), [['action', 'invalid action: permit', 25]]);
    const q = parsePolicyLine('svc', AT, 2);
    t.same(errs(q), [['field-count', 'wrong number of fields', 3]]);
    const r = parsePolicyLine('', AT, 2);
    t.same(errs(r), [['field-count', 'wrong number of fields', 3]], 'no field: the column after the offset');
  });

  t.test('several errors on one line are all reported, in the reference order', async (t) => {
    // service, argument, source, target, action
    t.same(errs(parsePolicyLine('s/ a/ @default @foo permit', AT)), [
      ['service-chars', "service 's/' contains invalid characters: ('/',)", 1],
      ['argument-chars', "argument 'a/' contains invalid characters: ('/',)", 4],
      ['source-token', "invalid source token: '@default'", 7],
      ['target-token', "invalid target token: '@foo'", 16],
      ['action', 'invalid action: permit', 21],
    ]);
    // action, then params syntax / duplicates in order, then booleans (notify before autostart)
    const many = errs(parsePolicyLine('s * a b deny x autostart=1 x=1 x=2 notify=2', AT));
    t.same(many.slice(0, 4), [
      ['param-syntax', "invalid action parameter syntax: 'x'", 14],
      ['param-duplicate', "parameter given twice: 'x'", 32],
      ['param-boolean', "'notify' is '2', but can be only 'yes' or 'no'", 36],
      ['param-boolean', "'autostart' is '1', but can be only 'yes' or 'no'", 16],
    ]);
    t.same(
      many.slice(4).map((e) => [e[0], e[1]]),
      [['param-invalid', "invalid parameters for action Deny: ['x', 'autostart=1', 'x=1', 'x=2', 'notify=2']"]],
    );
    // booleans before invalid params
    t.same(
      errs(parsePolicyLine('s * a b deny target=x notify=maybe', AT)).map((e) => e[0]),
      ['param-boolean', 'param-invalid'],
    );
    // invalid params stop the redirect / @default checks
    t.same(
      errs(parsePolicyLine('s * a @default allow target=* foo=1', AT)).map((e) => e[0]),
      ['param-invalid'],
    );
    // target= before default_target=
    t.same(errs(parsePolicyLine('s * a b ask default_target=@anyvm target=*', AT)), [
      ['redirect-token', "invalid redirect token: '*'", 35],
      ['redirect-token', "invalid redirect token: '@anyvm'", 13],
    ]);
    // redirect before the @default check (which is satisfied by target= anyway)
    t.same(errs(parsePolicyLine('* * * @default allow target=*', AT)).map((e) => e[0]), ['redirect-token']);
    // an invalid action: no param-invalid check, but syntax / booleans still reported
    t.same(
      errs(parsePolicyLine('svc * a b nope foo=1 bar notify=x', AT)).map((e) => e[0]),
      ['action', 'param-syntax', 'param-boolean'],
    );
    // only the first of wildcard / plus / chars is reported for the argument
    t.same(errs(parsePolicyLine('* a/ a b allow', AT)).map((e) => e[0]), ['argument-chars']);
    t.same(errs(parsePolicyLine('* a a b allow', AT)).map((e) => e[0]), ['argument-plus']);
  });

  t.test('whitespace: Python separators split fields, a BOM does not', async (t) => {
    for (const sep of ['\t', '\x0b', '\x0c', '\x1c', '\x1d', '\x1e', '\x1f', '\x85', '\xa0', '\u2028', '\u3000']) {
      const p = parsePolicyLine(['svc', '*', '@anyvm', '@anyvm', 'allow'].join(sep), AT);
      t.same(p.errors, [], `U+${sep.charCodeAt(0).toString(16).padStart(4, '0')}`);
    }
    const bom = parsePolicyLine('\ufeffsvc * @anyvm @anyvm allow', AT);
    t.same(errs(bom), [['service-chars', "service '\\ufeffsvc' contains invalid characters: ('\\ufeff',)", 1]]);
    const zw = parsePolicyLine('svc *\ufeff@anyvm @anyvm allow', AT);
    t.same(errs(zw), [['field-count', 'wrong number of fields', 1]], 'U+FEFF glues two fields into one');
  });

  t.test('checkServiceArgument', async (t) => {
    const at = { file: 'f', line: 3 };
    t.same(checkServiceArgument({ text: '*', column: 1 }, { text: '*', column: 3 }, at), {
      service: null,
      argument: null,
      errors: [],
    });
    t.same(checkServiceArgument({ text: 'svc', column: 1 }, { text: '+x', column: 5 }, at), {
      service: 'svc',
      argument: '+x',
      errors: [],
    });
    const bad = checkServiceArgument({ text: 'a b', column: 2 }, { text: 'x', column: 9 }, at);
    t.same(
      bad.errors.map((e) => [e.id, e.message, e.file, e.line, e.column]),
      [
        ['service-chars', "service 'a b' contains invalid characters: (' ',)", 'f', 3, 2],
        ['argument-plus', "argument 'x' does not start with +", 'f', 3, 9],
      ],
    );
  });

  t.test('service-file lines (SPEC §4.3)', async (t) => {
    t.equal(normaliseServiceLine('$anyvm $anyvm allow,target=dom0'), '@anyvm @anyvm allow target=dom0');
    t.equal(normaliseServiceLine('$include:/etc/x'), '!include /etc/x');
    t.equal(normaliseServiceLine('$include:a $x'), '!include a @x');
    t.equal(normaliseServiceLine('a,b,,c'), 'a b  c');
    const s = '$tag:work $dispvm:$tag:web allow,user=u,notify=yes';
    t.equal(normaliseServiceLine(s).length, s.length, 'columns are preserved');

    const at = { file: '/etc/qubes-rpc/policy/svc', line: 2 };
    const p = parseServiceLine(normaliseServiceLine('$anyvm $anyvm allow,target=dom0'), 'svc', '+a', at, 0, 'service', '$anyvm $anyvm allow,target=dom0');
    t.same(p.errors, []);
    const r = p.rule!;
    t.equal(r.service, 'svc');
    t.equal(r.argument, '+a');
    t.match(r.source, { kind: 'anyvm' });
    t.match(r.target, { kind: 'anyvm' });
    t.match(r.redirect, { kind: 'adminvm', text: 'dom0' });
    t.same(r.params, ['target=dom0']);
    t.equal(r.format, 'service');
    t.equal(r.text, '$anyvm $anyvm allow,target=dom0', 'original text kept');
    t.equal(r.line, 2);
    t.equal(r.notify, false);

    const q = parseServiceLine('work vault allow target=x user=y', null, null, at);
    t.equal(q.rule?.service, null);
    t.equal(q.rule?.argument, null);
    t.equal(q.rule?.text, 'work vault allow target=x user=y', 'text defaults to the line');
    t.same(q.rule?.params, ['target=x', 'user=y']);

    t.same(errs(parseServiceLine('@anyvm allow', 's', null, at)), [['field-count', 'wrong number of fields', 1]]);
    t.same(errs(parseServiceLine('', 's', null, at, 3)), [['field-count', 'wrong number of fields', 4]]);
    // a policy.d line in a service file: the third field is the action
    t.same(errs(parseServiceLine('svc * @anyvm @anyvm allow', 's', null, at)), [
      ['action', 'invalid action: @anyvm', 7],
      ['param-syntax', "invalid action parameter syntax: '@anyvm'", 14],
      ['param-syntax', "invalid action parameter syntax: 'allow'", 21],
    ]);
    t.same(errs(parseServiceLine('@anyvm @default allow', 's', null, at)).map((e) => e[0]), ['default-allow-target']);
    t.same(errs(parseServiceLine('@anyvm @anyvm deny target=x', 's', null, at)).map((e) => e[1]), [
      "invalid parameters for action Deny: ['target=x']",
    ]);
    t.same(errs(parseServiceLine('@default @anyvm deny', 's', null, at, 2)), [
      ['source-token', "invalid source token: '@default'", 3],
    ]);
  });

  t.test('implicit compat rules', async (t) => {
    const rules = implicitCompatRules('qubes.Filecopy', '+x', '/etc/qubes-rpc/policy/qubes.Filecopy+x');
    t.equal(rules.length, 2);
    const [a, b] = rules;
    for (const r of rules) {
      t.equal(r.service, 'qubes.Filecopy');
      t.equal(r.argument, '+x');
      t.equal(r.action, 'deny');
      t.equal(r.notify, true);
      t.equal(r.line, null);
      t.equal(r.file, '/etc/qubes-rpc/policy/qubes.Filecopy+x');
      t.equal(r.format, 'implicit');
      t.match(r.source, { kind: 'anyvm' });
    }
    t.match(a!.target, { kind: 'anyvm' });
    t.equal(a!.text, '@anyvm @anyvm deny');
    t.match(b!.target, { kind: 'adminvm', text: '@adminvm' });
    t.equal(b!.text, '@anyvm @adminvm deny');
  });
});

/**
 * System info bytes → text (src/io/sources.ts decodeSystemInfo): strict
 * UTF-8, one leading byte-order mark dropped; the fast path (Node's own
 * decoding) must agree with the strict decoder on every input.
 */
import t from 'tap';
import fc from 'fast-check';
import { decodeSystemInfo } from '../../src/io/sources.js';
import { SystemInfoError } from '../../src/policy/system-info.js';

const DOC = { domains: { dom0: { type: 'AdminVM', tags: [], icon: 'adminvm-black' }, 'wörk': { type: 'AppVM', tags: ['\ufffd'], icon: 'appvm-red' } } };
const json = JSON.stringify(DOC);

t.test('valid UTF-8, with or without a byte-order mark, a U+FFFD written in it', async (t) => {
  for (const [bytes, what] of [
    [Buffer.from(json), 'plain'],
    [Buffer.from('\ufeff' + json), 'one BOM'],
    [new Uint8Array(Buffer.from(json)), 'a Uint8Array, not a Buffer'],
    [Buffer.from('xx' + json).subarray(2), 'a view into a larger buffer'],
  ] as const) {
    const si = decodeSystemInfo(bytes, 'system info f');
    t.same([...si.qubes.keys()].sort(), ['dom0', 'wörk'], what);
    t.same(si.qubes.get('wörk')!.tags, ['\ufffd'], `${what}: the U+FFFD tag is text`);
  }
  t.throws(() => decodeSystemInfo(Buffer.from('\ufeff\ufeff' + json), 'system info f'), /not valid JSON/, 'only one BOM is dropped');
});

t.test('bad bytes are refused, wherever they are', async (t) => {
  for (const bad of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xef, 0xbf]])
    t.throws(() => decodeSystemInfo(Buffer.concat([Buffer.from(json.slice(0, 10)), Buffer.from(bad), Buffer.from(json.slice(10))]), 'system info f'), new SystemInfoError('system info f: not valid UTF-8'));
});

t.test('the same text as the strict decoder for any bytes', async (t) => {
  const strict = new TextDecoder('utf-8', { fatal: true });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 12 }), fc.boolean(), (raw, bom) => {
      const body = Buffer.from(raw);
      // a JSON string holding the bytes: the tag is what JSON makes of the strictly decoded text
      // (escapes such as \f included), or the document is refused
      const bytes = Buffer.concat([Buffer.from(bom ? '\ufeff' : ''), Buffer.from('{"domains":{"dom0":{"type":"AdminVM","tags":["'), body, Buffer.from('"]}}}')]);
      let text: string | null;
      try {
        // the strict decoder drops one leading BOM
        text = strict.decode(bytes);
      } catch {
        text = null;
      }
      let want: string | null = null;
      if (text !== null)
        try {
          want = (JSON.parse(text) as { domains: { dom0: { tags: string[] } } }).domains.dom0.tags[0]!;
        } catch {
          want = null;
        }
      try {
        const si = decodeSystemInfo(bytes, 's');
        return want !== null && si.qubes.get('dom0')!.tags[0] === want;
      } catch (err) {
        // bad bytes are said to be bad bytes; valid text that is no JSON document (a quote, a control
        // character, a lone backslash) is refused for that
        const message = (err as Error).message;
        return text === null ? message === 's: not valid UTF-8' : want === null && message !== 's: not valid UTF-8';
      }
    }),
    { numRuns: 3000 },
  );
  t.pass('3,000 byte strings');
});

t.test('a system-info file: read as text, bytes only for a U+FFFD, the same answers', async (t) => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { readSystemInfoFile } = await import('../../src/io/sources.js');
  const dir = mkdtempSync(join(tmpdir(), 'qp-si-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'system-info.json');
  for (const [bytes, what] of [
    [Buffer.from(json), 'plain'],
    [Buffer.from('\ufeff' + json), 'one BOM'],
  ] as const) {
    writeFileSync(file, bytes);
    const si = readSystemInfoFile(file);
    t.same([...si.qubes.keys()].sort(), ['dom0', 'wörk'], what);
    t.same(si.qubes.get('wörk')!.tags, ['\ufffd'], `${what}: the U+FFFD written in it is text`);
  }
  writeFileSync(file, Buffer.concat([Buffer.from(json.slice(0, 10)), Buffer.from([0xff]), Buffer.from(json.slice(10))]));
  t.throws(() => readSystemInfoFile(file), new SystemInfoError(`system info ${file}: not valid UTF-8`));
  writeFileSync(file, '\ufeff\ufeff' + json);
  t.throws(() => readSystemInfoFile(file), /not valid JSON/, 'only one BOM is dropped');
  // the file reader agrees with the bytes decoder on any bytes
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 8 }), fc.boolean(), (raw, bom) => {
      const bytes = Buffer.concat([Buffer.from(bom ? '\ufeff' : ''), Buffer.from('{"domains":{"dom0":{"type":"AdminVM","tags":["'), Buffer.from(raw), Buffer.from('"]}}}')]);
      writeFileSync(file, bytes);
      const outcome = (f: () => { qubes: Map<string, { tags: string[] }> }) => {
        try {
          return f().qubes.get('dom0')!.tags[0]!;
        } catch (err) {
          return `error: ${(err as Error).message.replace(`system info ${file}`, 'S').replace(/^s:/, 'S:')}`;
        }
      };
      return outcome(() => readSystemInfoFile(file)) === outcome(() => decodeSystemInfo(bytes, 's'));
    }),
    { numRuns: 300 },
  );
  t.pass('300 files');
});

/** Small shared pieces: expected-error filtering and the default stderr logger. */
import t from 'tap';
import { describeIo, expected } from '../src/errors.js';
import { stderrLogger } from '../src/log.js';
import { runQrexecClient } from '../src/exec/run-call.js';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

class Expected extends Error {}

t.test('describeIo: errno codes in words, anything else as it is', async (t) => {
  const errno = (code: string) => Object.assign(new Error(`${code}: raw`), { code });
  t.equal(describeIo(errno('ENOENT')), 'does not exist');
  t.equal(describeIo(errno('EACCES')), 'permission denied');
  t.equal(describeIo(errno('EWHATEVER')), 'EWHATEVER', 'an unknown code as it is');
  t.equal(describeIo(new Error('no code')), 'no code');
  t.equal(describeIo('a string'), 'a string');
  t.equal(describeIo(null), 'null');
});

t.test('expected() lets the expected class through and re-throws anything else', async (t) => {
  const e = new Expected('fine');
  t.doesNotThrow(() => expected(e, Expected));
  const bug = new TypeError('a bug');
  t.throws(() => expected(bug, Expected), bug);
});

t.test('stderrLogger without a writer goes to the process stderr', async (t) => {
  const written: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => (written.push(String(s)), true)) as typeof process.stderr.write;
  try {
    stderrLogger('warn').log('warn', 'careful');
    stderrLogger('warn').log('info', 'quiet');
  } finally {
    process.stderr.write = orig;
  }
  t.same(written, ['warning: careful\n']);
});

t.test('qrexec-client killed by a signal reports 128 + its number', async (t) => {
  const client = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers', 'fake-qrexec-client.mjs');
  process.env['FAKE_QREXEC_SIGNAL'] = 'SIGTERM';
  try {
    t.equal(await runQrexecClient(client, []), 128 + 15);
  } finally {
    delete process.env['FAKE_QREXEC_SIGNAL'];
  }
});

t.test('umbrella argv: --batch - means standard input', async (t) => {
  const { protectStdin } = await import('../src/cli/parse.js');
  const swapped = protectStdin(['eval', '--json', '--batch', '-', '--path', 'p']);
  t.equal(swapped.length, 6);
  t.not(swapped[3], '-', 'a lone - is kept from yargs');
  t.same(protectStdin(['eval', '--batch', 'file.jsonl']), ['eval', '--batch', 'file.jsonl']);
  t.same(protectStdin(['eval', '--', 'a', '-', 'c']), ['eval', '--', 'a', '-', 'c'], 'after -- words are passed as they are');
});

t.test('ask targets sort by code point, also beyond the BMP', async (t) => {
  const { codePointSort } = await import('../src/policy/decision.js');
  t.same(codePointSort(['b', 'a', 'B']), ['B', 'a', 'b']);
  // UTF-16 order would put U+1F600 (a surrogate pair) before U+FF01
  t.same(codePointSort(['\u{1F600}', '\uFF01', 'z']), ['z', '\uFF01', '\u{1F600}']);
});

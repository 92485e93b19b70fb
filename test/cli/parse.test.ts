/** Reading a command line: "did you mean …?" (edit distance, the closest word) and `-` kept for standard input. */
import t from 'tap';
import yargs from 'yargs';
import { parseCommandLine, protectStdin } from '../../src/cli/parse.js';
import { captureIo } from './fixtures/cli.js';
import { closest, didYouMean, editDistance } from '../../src/cli/suggest.js';

t.test('editDistance: insertions, deletions, substitutions and neighbour swaps count one each', async (t) => {
  // textbook values; `ca` → `abc` is 3 for this (restricted) distance, 2 for the unrestricted one
  for (const [a, b, d] of [
    ['', '', 0],
    ['', 'abc', 3],
    ['abc', '', 3],
    ['eval', 'eval', 0],
    ['evl', 'eval', 1],
    ['kitten', 'sitting', 3],
    ['ab', 'ba', 1],
    ['sokcet-path', 'socket-path', 1],
    ['ca', 'abc', 3],
  ] as const) {
    t.equal(editDistance(a, b), d, `${a} → ${b}`);
    t.equal(editDistance(b, a), d, `${b} → ${a}`);
  }
});

t.test('closest: near enough to be a typo, else a unique longer option it begins', async (t) => {
  const commands = ['eval', 'explain', 'exec', 'list', 'lint', 'test', 'graph', 'convert', 'daemon', 'fmt', 'diff'];
  t.equal(closest('evl', commands), 'eval');
  t.equal(closest('lsit', commands), 'list');
  t.equal(closest('lnt', commands), 'lint', 'the first of equally close words (lint, list: lint is 1, list is 2)');
  t.equal(closest('grpah', commands), 'graph');
  t.equal(closest('frobnicate', commands), null, 'nothing alike');
  t.equal(closest('xy', commands), null, 'too short to guess from');
  t.equal(closest('conv', commands), 'convert', 'a unique longer word it begins');
  t.equal(closest('ex', commands), null, 'two letters are no prefix to go by');
  t.equal(closest('e', ['exec', 'eval']), null);
  t.equal(didYouMean('sytem-info', ['system-info', 'path'], '--'), ' (did you mean --system-info?)');
  t.equal(didYouMean('zzz', ['system-info', 'path'], '--'), '');
});

t.test('a lone - reaches the command as -, in positionals, option values and lists; after -- as given', async (t) => {
  const argv = ['-', 'a', '--one', '-', '--many', '-', '--many', 'b', '--', '-'];
  const parser = yargs(protectStdin(argv))
    .command('$0 [files..]', 'test', (y) => y.positional('files', { type: 'string', array: true }))
    .option('one', { type: 'string' })
    .option('many', { type: 'string', array: true })
    .check((a) => {
      // checks see what the user typed too
      if (!(a['files'] as string[]).includes('-')) throw new Error('the - is gone');
      return true;
    })
    .strict();
  const io = captureIo({});
  const a = await parseCommandLine(parser, 'prog', argv, io.io);
  t.equal(io.err, '');
  t.same(a && [a['files'], a['one'], a['many'], a['_']], [['-', 'a'], '-', ['-', 'b'], ['-']]);
  const bad = captureIo({});
  t.equal(await parseCommandLine(yargs(protectStdin(['-', '-'])).strict(), 'prog', ['-', '-'], bad.io), null);
  t.equal(bad.err, "prog: unexpected argument \"-\"\nRun 'prog --help' for usage.\n", 'a - in a message is shown as typed');
});

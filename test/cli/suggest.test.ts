/** "did you mean …?": the edit distance and the choice of the closest word. */
import t from 'tap';
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

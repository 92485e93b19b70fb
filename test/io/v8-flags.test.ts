/**
 * V8 tuning for qrexec-policy-exec's policy load (src/io/v8-flags.ts): the
 * short-run flags only while the work runs, V8's defaults (under which
 * Node's own modules were cached) before and after, however it ends.
 */
import t from 'tap';
import { v8Tuning } from '../../src/io/v8-flags.js';

const TUNED = '--no-opt --no-regexp-tier-up';
const DEFAULTS = '--opt --regexp-tier-up';

function recorder() {
  const set: string[] = [];
  return { set, tuned: v8Tuning((flags) => void set.push(flags)) };
}

t.test('tuned while the work runs, the defaults after; its value returned', async (t) => {
  const { set, tuned } = recorder();
  t.equal(
    tuned(() => set.at(-1)),
    TUNED,
    'the work ran tuned',
  );
  t.same(set, [TUNED, DEFAULTS]);
});

t.test('work that throws leaves the defaults, and throws', async (t) => {
  const { set, tuned } = recorder();
  t.throws(
    () =>
      tuned(() => {
        throw new Error('policy unreadable');
      }),
    /policy unreadable/,
  );
  t.same(set, [TUNED, DEFAULTS]);
});

t.test('work inside work: the outer one sets and resets, once', async (t) => {
  const { set, tuned } = recorder();
  t.equal(
    tuned(() => tuned(() => 'inner') + ' then outer'),
    'inner then outer',
  );
  t.same(set, [TUNED, DEFAULTS]);
});

t.test("Node's own setter: no deprecation warning reaches the administrator, and noDeprecation is as it was", async (t) => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => void warnings.push(w.message);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));
  const before = process.noDeprecation;
  t.equal(
    v8Tuning()(() => 'loaded'),
    'loaded',
  );
  t.equal(process.noDeprecation, before);
  // warnings are emitted on the next tick
  await new Promise((resolve) => setImmediate(resolve));
  t.same(warnings, []);
});

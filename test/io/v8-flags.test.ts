/**
 * V8 tuning for a short run (src/io/v8-flags.ts): tuned flags while the
 * policy is read, V8's defaults while Node's own modules load (their code
 * caches are refused under other flags), tuned again after.
 */
import t from 'tap';
import { v8Tuning } from '../../src/io/v8-flags.js';

const TUNED = '--no-opt --no-regexp-tier-up';
const DEFAULTS = '--opt --regexp-tier-up';

function recorder() {
  const set: string[] = [];
  return { set, tuning: v8Tuning((flags) => void set.push(flags)) };
}

t.test('untuned, loads run as they are: no flag is touched', async (t) => {
  const { set, tuning } = recorder();
  t.equal(tuning.whileLoading(() => 7), 7);
  t.equal(await tuning.whileLoadingAsync(async () => 8), 8);
  t.same(set, []);
});

t.test('tuned: the defaults while a load runs, tuned again after', async (t) => {
  const { set, tuning } = recorder();
  tuning.tune();
  t.same(set, [TUNED]);
  const during = tuning.whileLoading(() => set.at(-1));
  t.equal(during, DEFAULTS, 'the load ran under the defaults');
  t.same(set, [TUNED, DEFAULTS, TUNED]);
});

t.test('an asynchronous load keeps the defaults until it settles', async (t) => {
  const { set, tuning } = recorder();
  tuning.tune();
  let release!: () => void;
  const pending = tuning.whileLoadingAsync(
    () =>
      new Promise<string>((resolve) => {
        release = () => resolve('module');
      }),
  );
  await Promise.resolve();
  t.equal(set.at(-1), DEFAULTS, 'still loading: still the defaults');
  release();
  t.equal(await pending, 'module');
  t.same(set, [TUNED, DEFAULTS, TUNED]);
});

t.test('a load that fails leaves the process tuned, and fails', async (t) => {
  const { set, tuning } = recorder();
  tuning.tune();
  t.throws(() => tuning.whileLoading(() => {
    throw new Error('no such module');
  }), /no such module/);
  await t.rejects(tuning.whileLoadingAsync(async () => {
    throw new Error('no such module either');
  }), /no such module either/);
  t.same(set, [TUNED, DEFAULTS, TUNED, DEFAULTS, TUNED]);
});

t.test('loads inside a load: the outer one sets the tuning back, once', async (t) => {
  const { set, tuning } = recorder();
  tuning.tune();
  await tuning.whileLoadingAsync(async () => tuning.whileLoading(() => 1));
  t.same(set, [TUNED, DEFAULTS, TUNED]);
});

t.test("Node's own setter: no deprecation warning reaches the administrator, and noDeprecation is as it was", async (t) => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => void warnings.push(w.message);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));
  const before = process.noDeprecation;
  const tuning = v8Tuning();
  tuning.tune();
  t.equal(tuning.whileLoading(() => 'loaded'), 'loaded');
  t.equal(process.noDeprecation, before);
  // warnings are emitted on the next tick
  await new Promise((resolve) => setImmediate(resolve));
  t.same(warnings, []);
});

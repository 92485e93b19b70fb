/**
 * One chunk of a long property run (npm run fuzz, npm run difftest): `runs`
 * inputs of one property from one seed, with fast-check's shrinking on
 * failure, counted for the runner's report. The runners hand these out to
 * worker processes (scripts/lib/property-pool.mjs).
 */
import fc from 'fast-check';
import { toFc, Violation, type AnyProperty } from './property.js';

export interface ChunkResult {
  id: string;
  runs: number;
  inputs: number;
  ms: number;
  /** Counts a property list keeps of its own (e.g. the difftest's declared differences). */
  stats?: Record<string, number>;
  /** With a failure: the inputs counted up to and including the first failing one (before shrinking). */
  firstFailureAt?: number;
  failure: null | { category: string; message: string; seed: number; path: string; counterexample: string };
}

export type RunChunk = (id: string, runs: number, seed: number, tick: () => void, replayPath?: string) => Promise<ChunkResult>;

/**
 * The chunk runner over a list of properties. `tick` is called at least
 * once a second while inputs complete (the runner's hang watchdog);
 * `takeStats`, if given, returns and resets the list's own counts.
 */
export function chunkRunner(properties: readonly AnyProperty[], takeStats?: () => Record<string, number>): RunChunk {
  return async (id, runs, seed, tick, replayPath) => {
    const def = properties.find((p) => p.id === id);
    if (def === undefined) throw new Error(`no property ${id}`);
    let inputs = 0;
    let firstFailureAt: number | undefined;
    let last = performance.now();
    const failed = (err: unknown): never => {
      firstFailureAt ??= inputs;
      throw err;
    };
    const counted = {
      ...def,
      check: (x: unknown) => {
        const now = performance.now();
        if (now - last > 1000) {
          last = now;
          tick();
        }
        inputs += def.inputs?.(x) ?? 1;
        try {
          const r = def.check(x);
          return r instanceof Promise ? r.catch(failed) : r;
        } catch (err) {
          return failed(err);
        }
      },
    };
    const t0 = performance.now();
    const details = await fc.check(toFc(counted) as fc.IAsyncProperty<[unknown]>, {
      numRuns: runs,
      seed,
      ...(replayPath !== undefined ? { path: replayPath } : {}),
    });
    const ms = performance.now() - t0;
    const stats = takeStats?.();
    const base = { id, runs: details.numRuns, inputs, ms, ...(stats ? { stats } : {}) };
    if (!details.failed) return { ...base, failure: null };
    if (firstFailureAt !== undefined) Object.assign(base, { firstFailureAt });
    const err = details.errorInstance;
    const category = err instanceof Violation ? err.category : 'crash';
    const message = err instanceof Error ? (err instanceof Violation ? err.message : `${err.name}: ${err.message}\n${err.stack ?? ''}`) : String(err);
    const counterexample = details.counterexample === null ? '' : fc.stringify(details.counterexample[0]);
    return { ...base, failure: { category, message, seed: details.seed, path: details.counterexamplePath ?? '', counterexample: counterexample.slice(0, 20_000) } };
  };
}

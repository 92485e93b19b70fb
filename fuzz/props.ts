/**
 * What `npm run fuzz` runs: every property of test/property (the same
 * definitions `npm test` runs a few times), bundled by fuzz/run.mjs with
 * esbuild so that plain `node` runs them, straight from the TypeScript
 * sources of src/ and test/property/.
 */
import fc from 'fast-check';
import { EVAL_PROPERTIES } from '../test/property/lib/props-eval.js';
import { FILE_PROPERTIES } from '../test/property/lib/props-files.js';
import { FRONTEND_PROPERTIES } from '../test/property/lib/props-frontends.js';
import { toFc, Violation, type AnyProperty } from '../test/property/lib/property.js';

export const PROPERTIES: AnyProperty[] = [...EVAL_PROPERTIES, ...FILE_PROPERTIES, ...FRONTEND_PROPERTIES];

export interface ChunkResult {
  id: string;
  runs: number;
  inputs: number;
  ms: number;
  failure: null | { category: string; message: string; seed: number; path: string; counterexample: string };
}

/**
 * Run `runs` inputs of one property from `seed`. `tick` is called at least
 * once a second while inputs complete (the runner's hang watchdog).
 */
export async function runChunk(id: string, runs: number, seed: number, tick: () => void, replayPath?: string): Promise<ChunkResult> {
  const def = PROPERTIES.find((p) => p.id === id);
  if (def === undefined) throw new Error(`no property ${id}`);
  let inputs = 0;
  let last = performance.now();
  const counted = {
    ...def,
    check: (x: unknown) => {
      const now = performance.now();
      if (now - last > 1000) {
        last = now;
        tick();
      }
      inputs += def.inputs?.(x) ?? 1;
      return def.check(x);
    },
  };
  const t0 = performance.now();
  const details = await fc.check(toFc(counted) as fc.IAsyncProperty<[unknown]>, {
    numRuns: runs,
    seed,
    ...(replayPath !== undefined ? { path: replayPath } : {}),
  });
  const ms = performance.now() - t0;
  if (!details.failed) return { id, runs: details.numRuns, inputs, ms, failure: null };
  const err = details.errorInstance;
  const category = err instanceof Violation ? err.category : 'crash';
  const message = err instanceof Error ? (err instanceof Violation ? err.message : `${err.name}: ${err.message}\n${err.stack ?? ''}`) : String(err);
  const counterexample = details.counterexample === null ? '' : fc.stringify(details.counterexample[0]);
  return {
    id,
    runs: details.numRuns,
    inputs,
    ms,
    failure: { category, message, seed: details.seed, path: details.counterexamplePath ?? '', counterexample: counterexample.slice(0, 20_000) },
  };
}

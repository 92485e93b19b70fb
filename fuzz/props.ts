/**
 * What `npm run fuzz` runs: every property of test/property (the same
 * definitions `npm test` runs a few times), bundled by fuzz/run.mjs with
 * esbuild so that plain `node` runs them, straight from the TypeScript
 * sources of src/ and test/property/.
 */
import { chunkRunner } from '../test/property/lib/chunk.js';
import { EVAL_PROPERTIES } from '../test/property/lib/props-eval.js';
import { FILE_PROPERTIES } from '../test/property/lib/props-files.js';
import { FRONTEND_PROPERTIES } from '../test/property/lib/props-frontends.js';
import type { AnyProperty } from '../test/property/lib/property.js';

export const PROPERTIES: AnyProperty[] = [...EVAL_PROPERTIES, ...FILE_PROPERTIES, ...FRONTEND_PROPERTIES];

export const runChunk = chunkRunner(PROPERTIES);

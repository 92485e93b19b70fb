/**
 * The shape every property shares, so that one definition runs both in
 * `npm test` (tap, a few runs) and in `npm run fuzz` (many runs, counted):
 * an arbitrary, a check that throws a Violation naming what went wrong,
 * and how many runs each setting gets. Any other exception out of a check
 * is code under test throwing where it must answer: a crash.
 */
import fc from 'fast-check';
import type { Test } from 'tap';
import type { Decision } from '../../../src/policy/decision.js';
import { decisionJsonLine } from '../../../src/render/json.js';

/** What a failed check means, for the fuzz report's counts. */
export type Category = 'crash' | 'hang' | 'wrong-allow' | 'disagreement' | 'unexplained-deny';

export class Violation extends Error {
  constructor(
    readonly category: Category,
    message: string,
  ) {
    super(`[${category}] ${message}`);
    this.name = 'Violation';
  }
}

export function fail(category: Category, message: string): never {
  throw new Violation(category, message);
}

/** A disagreement, or a wrong allow when the side that should not allow does. */
export function differ(what: string, expected: string, actual: string): never {
  const category: Category = /result=allow|"result":"allow"/.test(actual) && !/result=allow|"result":"allow"/.test(expected) ? 'wrong-allow' : 'disagreement';
  fail(category, `${what}\n  expected: ${expected}\n  actual:   ${actual}`);
}

export function sameText(what: string, expected: string, actual: string): void {
  if (expected !== actual) differ(what, expected, actual);
}

export const show = (d: Decision): string => decisionJsonLine(d);

export interface PropertyDef<T> {
  /** Short id used by `npm run fuzz -- --only ID`. */
  id: string;
  /** Which of the properties (a)–(h) it checks, or `frames`. */
  letter: string;
  title: string;
  arb: fc.Arbitrary<T>;
  check(input: T): void | Promise<void>;
  /** Runs in `npm test`. */
  testRuns: number;
  /** Relative share of the fuzz runner's iterations. */
  fuzzWeight: number;
  /** Requests (or frames) one input evaluates, for the fuzz report. */
  inputs?(input: T): number;
  /** An upper bound on the fuzz runs (for properties that spawn processes). */
  fuzzCap?: number;
  /**
   * A known failure (a bug in src/ this property found, not fixed yet): tap
   * reports it as todo, and the fuzz runner leaves it out unless asked by id.
   */
  todo?: string;
  /** The check returns a promise (it gets a time limit: past it, a hang). */
  async?: boolean;
  /** Time allowed for one async input before it counts as a hang (ms). */
  timeoutMs?: number;
}

/** A list of properties over different inputs. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entry keeps its own input type
export type AnyProperty = PropertyDef<any>;

export function property<T>(def: PropertyDef<T>): PropertyDef<T> {
  return def;
}

/** A check with a time limit: slower than `ms` is a hang (the check is then abandoned). */
export async function withTimeout<R>(ms: number, what: string, run: () => Promise<R>): Promise<R> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Violation('hang', `${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([run(), limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** The fast-check property of a definition (async checks get a hang limit). */
export function toFc<T>(def: PropertyDef<T>): fc.IRawProperty<[T]> {
  const check = def.check;
  const timeout = def.timeoutMs ?? 30_000;
  return def.async
    ? fc.asyncProperty(def.arb, (x) => withTimeout(timeout, def.id, async () => void (await check(x))))
    : fc.property(def.arb, (x) => void check(x));
}

/** Runs for tap: the definition's count, scaled by QREXEC_PROPERTY_SCALE (e.g. 10 for a longer local run). */
export function testRuns(def: PropertyDef<unknown>): number {
  const scale = Number(process.env['QREXEC_PROPERTY_SCALE'] ?? '1');
  return Math.max(1, Math.round(def.testRuns * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
}

/**
 * One tap subtest per property. A `todo` property (a known bug) still runs:
 * its failure shows as `not ok … # TODO` and does not fail the suite; once
 * the bug is fixed it shows as passing, and the todo can go.
 */
export function tapProperty<T>(t: Test, def: PropertyDef<T>): void {
  t.test(`(${def.letter}) ${def.title}`, async (t) => {
    const seed = process.env['QREXEC_PROPERTY_SEED'];
    const params = { numRuns: testRuns(def), ...(seed ? { seed: Number(seed) } : {}) };
    const prop = toFc(def) as fc.IAsyncProperty<[T]>;
    if (def.todo === undefined) {
      await fc.assert(prop, params);
      t.pass(`${testRuns(def)} runs`);
      return;
    }
    const details = await fc.check(prop, params);
    const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    t.notOk(details.failed, details.failed ? `still failing: ${error.split('\n')[0]}` : `${details.numRuns} runs`, { todo: def.todo });
  });
}

/**
 * The selection options of `list`: minimatch globs for sources, targets and
 * services, and the `--action` filter. Bad values are usage errors.
 */
import { Minimatch } from 'minimatch';
import { expected, UsageError } from '../errors.js';


/**
 * A test for names matching any of the globs (all names when none is given).
 * `dot: true`: a leading `.` is an ordinary character in qube and service names.
 */
export function globFilter(option: string, patterns: readonly string[] | undefined): (name: string) => boolean {
  if (patterns === undefined || patterns.length === 0) return () => true;
  const globs = patterns.map((p) => {
    try {
      return new Minimatch(p, { dot: true });
    } catch (err) {
      // minimatch rejects only patterns over 64 KiB: name the start of it
      expected(err, TypeError);
      throw new UsageError(`invalid ${option} glob ${JSON.stringify(p.slice(0, 40) + '...')}: ${err.message}`);
    }
  });
  return (name) => globs.some((g) => g.match(name));
}

export type Result = 'allow' | 'ask' | 'deny';
const RESULTS: readonly string[] = ['allow', 'ask', 'deny'];

/**
 * What list answers without --action: the calls that may happen (allow and
 * ask), which is the question `--source work` ("what may work call?") and
 * `--target vault` ("who may reach vault?") ask.
 */
export const DEFAULT_ACTIONS: ReadonlySet<Result> = new Set(['allow', 'ask']);

/** `--action allow,ask` (repeatable, comma-separated) → the results to keep; `all` (null) keeps every row. */
export function parseActions(values: readonly string[] | undefined): ReadonlySet<Result> | null {
  if (values === undefined || values.length === 0) return DEFAULT_ACTIONS;
  const out = new Set<Result>();
  for (const v of values.flatMap((x) => x.split(','))) {
    const a = v.trim();
    if (a === 'all') return null;
    if (!RESULTS.includes(a)) throw new UsageError(`invalid --action value ${JSON.stringify(a)} (allow, ask, deny or all)`);
    out.add(a as Result);
  }
  return out;
}

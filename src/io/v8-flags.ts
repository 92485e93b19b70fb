/**
 * V8 flags for the policy load of a process that lives a few milliseconds
 * (qrexec-policy-exec).
 *
 * While the policy is read: no optimising compiler (a call is over before
 * its code pays back; 10,000 rules 1.49 -> 1.26 x `node -e 0`) and regular
 * expressions compiled to machine code at once, not first to bytecode and
 * again on their second use.
 *
 * Only then: V8 refuses a code cache made under other flags, and Node
 * compiles its own modules from such caches. Set for the whole process,
 * these flags had `net`, the streams and `child_process` (loaded when a call
 * asks qubesd, runs qrexec-client or logs through `logger`) compiled from
 * source: 38-48 M instructions, ~5 ms, of such a call. Scoped to the load,
 * every other module loads under V8's defaults, wherever it is loaded from.
 *
 * Through `process.binding('v8')`: `require('v8')` loads Node's stream
 * modules (~2.5 ms); the binding's deprecation warning is not for the
 * administrator. A Node without the binding runs untuned.
 */

/** Sets V8 flags (`--a --no-b`); Node's own setter unless a test gives one. */
export type FlagSetter = (flags: string) => void;

const TUNED = '--no-opt --no-regexp-tier-up';
/** V8's defaults for the flags above: what Node's modules were cached under. */
const DEFAULTS = '--opt --regexp-tier-up';

function nodeFlagSetter(flags: string): void {
  const quiet = process.noDeprecation;
  process.noDeprecation = true;
  try {
    (process as unknown as { binding(name: string): { setFlagsFromString(flags: string): void } }).binding('v8').setFlagsFromString(flags);
    /* c8 ignore next 2 -- every supported Node has the binding; without it the process runs untuned */
  } catch {
    // nothing to tune with: the defaults stay
  } finally {
    process.noDeprecation = quiet;
  }
}

/** `work()` under the short-run flags, V8's defaults again after (also when it throws; a nested call leaves them to the outer). */
export type Tuned = <T>(work: () => T) => T;

export function v8Tuning(set: FlagSetter = nodeFlagSetter): Tuned {
  let depth = 0;
  return (work) => {
    if (depth++ === 0) set(TUNED);
    try {
      return work();
    } finally {
      if (--depth === 0) set(DEFAULTS);
    }
  };
}

/** This process's tuning (qrexec-policy-exec's policy load). */
export const shortRun = v8Tuning();

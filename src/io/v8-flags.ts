/**
 * V8 flags for a process that lives a few milliseconds (qrexec-policy-exec).
 *
 * While the policy is read and evaluated: no optimising compiler (a call is
 * over before its code pays back; 10,000 rules 1.49 -> 1.26 x `node -e 0`)
 * and regular expressions compiled to machine code at once, not first to
 * bytecode and again on their second use.
 *
 * V8 refuses a code cache made under other flags, and Node compiles its own
 * modules from such caches: `net`, the streams and `child_process`, loaded
 * when a call asks qubesd or runs qrexec-client, were compiled from source
 * while these flags were set (38-48 M instructions, ~5 ms, of such a call;
 * a decision line sent to syslog through `logger` paid the same for
 * `child_process`). So the defaults are back while Node's modules load
 * (`whileLoading`), and the tuning is on again after.
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

export interface V8Tuning {
  /** The short-run flags from now on. */
  tune(): void;
  /** `load()` under V8's defaults (Node's modules it loads use their caches); tuned again after, if tuned before. */
  whileLoading<T>(load: () => T): T;
  /** The same for a load that settles later (a dynamic import). */
  whileLoadingAsync<T>(load: () => Promise<T>): Promise<T>;
}

export function v8Tuning(set: FlagSetter = nodeFlagSetter): V8Tuning {
  let tuned = false;
  const untune = (): boolean => {
    if (!tuned) return false;
    set(DEFAULTS);
    tuned = false;
    return true;
  };
  const retune = (was: boolean): void => {
    if (!was) return;
    set(TUNED);
    tuned = true;
  };
  return {
    tune() {
      set(TUNED);
      tuned = true;
    },
    whileLoading(load) {
      const was = untune();
      try {
        return load();
      } finally {
        retune(was);
      }
    },
    async whileLoadingAsync(load) {
      const was = untune();
      try {
        return await load();
      } finally {
        retune(was);
      }
    },
  };
}

/** This process's tuning: qrexec-policy-exec tunes; other commands never do, so their loads run as they are. */
export const processV8 = v8Tuning();

/**
 * A subcommand of the umbrella `qrexec-policy` CLI. Each lives in its own
 * module under cli/commands/ and loads its implementation only when run, so
 * the umbrella starts without parsing lint, graph or daemon code.
 */
import type { Argv } from 'yargs';
import type { Io } from '../io/io.js';

/** `sub`'s examples added to its parser, after `prefix` (the program, and the command word in the umbrella). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function withExamples(y: Argv<any>, sub: SubCommand, prefix: string): Argv<any> {
  for (const [args, what] of sub.examples ?? []) y.example(`${prefix} ${args}`, what);
  return y;
}

export interface SubCommand {
  /** yargs command string, e.g. `lint [paths..]`. */
  command: string;
  describe: string;
  /** The usage line of the command run on its own (standalone.ts); default `usage: NAME [options]`. */
  usage?: string;
  /** Run on its own, how many words (in `_`) it takes besides options; default none. */
  positionals?: number;
  // yargs builders return differently typed Argv values; the umbrella only chains them
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  builder: (y: Argv) => Argv<any>;
  /**
   * Examples as typed after the command's name (`--dry-run`), with what
   * they do: shown as `qrexec-policy graph …` in the umbrella and
   * `qrexec-policy-graph …` on its own (--help, the man pages).
   */
  examples?: ReadonlyArray<readonly [args: string, what: string]>;
  /** Runs the command; resolves to the exit status. */
  handler: (args: Record<string, unknown>, io: Io) => Promise<number>;
}

/**
 * A subcommand of the umbrella `qrexec-policy` CLI. Each lives in its own
 * module under cli/commands/ and loads its implementation only when run, so
 * the umbrella starts without parsing lint, graph or daemon code.
 */
import type { Argv } from 'yargs';
import type { Io } from '../io/io.js';

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
  /** Runs the command; resolves to the exit status. */
  handler: (args: Record<string, unknown>, io: Io) => Promise<number>;
}

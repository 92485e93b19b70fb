/**
 * Running a yargs parser for a command: a usage problem becomes one line
 * that names the command and the bad word (with "did you mean …?" for a
 * misspelt command or option), then one line pointing at --help; exit 2.
 */
import type { Argv } from 'yargs';
import { expected, UsageError } from '../errors.js';
import type { Io } from '../io/io.js';
import { didYouMean } from './suggest.js';

/**
 * `-` (standard input) as yargs would never lose it. yargs drops a lone `-`
 * from a command's positionals (`fmt -` gave no paths at all) and reads it
 * as an empty option value; so before parsing, each `-` before `--` is
 * swapped for a word no command line can hold (argv has no NUL), and
 * swapped back before any check or handler sees the arguments.
 */
const STDIN_WORD = '\0-';

export function protectStdin(argv: readonly string[]): string[] {
  const end = argv.indexOf('--');
  return argv.map((a, i) => (a === '-' && (end < 0 || i < end) ? STDIN_WORD : a));
}

function restoreStdin(v: unknown): unknown {
  if (v === STDIN_WORD) return '-';
  return Array.isArray(v) ? v.map(restoreStdin) : v;
}

/** yargs middleware: every `-` back where it was given. */
function restoreStdinWords(a: Record<string, unknown>): void {
  for (const k of Object.keys(a)) a[k] = restoreStdin(a[k]);
}

/** What yargs' getOptions() tells (public API that @types/yargs does not declare). */
interface OptionTable {
  key: Record<string, unknown>;
  alias: Record<string, string[]>;
  boolean: string[];
}

function optionTable(parser: Argv<unknown>): OptionTable {
  return (parser as unknown as { getOptions(): OptionTable }).getOptions();
}

/** Every option name the parser takes, as typed (`--socket-path`, its aliases), without yargs' camelCase copies. */
function optionNames(t: OptionTable): string[] {
  const names = [...Object.keys(t.key), ...Object.values(t.alias).flat()];
  return [...new Set(names)].filter((n) => !/[A-Z]/.test(n));
}

/** The words before `--` that are not options: the command (if any) comes first. */
function words(argv: readonly string[]): string[] {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).filter((a) => a === '-' || !a.startsWith('-'));
}

/**
 * yargs' "Unknown argument(s): a, b" (which also lists its camelCase copy
 * of an option) said the way an administrator can act on: the first bad
 * word, what it is, and the closest known one.
 */
export function usageMessage(msg: string, argv: readonly string[], t: OptionTable, commands: readonly string[]): string {
  msg = msg.replaceAll(STDIN_WORD, '-');
  const m = /^Unknown arguments?: (.*)$/s.exec(msg);
  if (m === null) return msg;
  const bad = m[1]!.split(', ')[0]!;
  const is = (a: string, option: string) => a === option || a.startsWith(`${option}=`);
  const given = argv.find((a) => a === `-${bad}` || is(a, `--${bad}`) || is(a, `--no-${bad}`));
  if (given !== undefined) {
    const known = optionNames(t).filter((n) => n.length > 1);
    // yargs names `--no-colr` as `colr`: the negation of an option it does not know
    if (is(given, `--no-${bad}`)) return `unknown option --no-${bad}${didYouMean(bad, t.boolean, '--no-')}`;
    return `unknown option ${given.startsWith('--') ? '--' : '-'}${bad}${didYouMean(bad, known, '--')}`;
  }
  const first = words(argv)[0];
  if (commands.length && bad === first) return `unknown command ${bad}${didYouMean(bad, commands)}`;
  return `unexpected argument ${JSON.stringify(bad)}`;
}

/**
 * Parse (and, for parsers with command handlers, run) the command line.
 * Returns the arguments, or null after reporting a usage problem. `name`
 * is the program; `commands` its subcommands, if it has any.
 */
export async function parseCommandLine(
  parser: Argv<unknown>,
  name: string,
  argv: readonly string[],
  io: Io,
  commands: readonly string[] = [],
): Promise<Record<string, unknown> | null> {
  parser
    .middleware(restoreStdinWords, true)
    .fail((msg, err) => {
      // a message means a usage problem; an error without one comes from a handler
      if (msg === null || msg === undefined) throw err;
      throw new UsageError(msg);
    })
    .exitProcess(false);
  try {
    return (await parser.parseAsync()) as Record<string, unknown>;
  } catch (err) {
    expected(err, UsageError);
    const command = words(argv)[0];
    const who = command !== undefined && commands.includes(command) ? `${name} ${command}` : name;
    reportUsage(io, who, usageMessage(err.message, argv, optionTable(parser), commands));
    return null;
  }
}

/** `WHO: MESSAGE` and a pointer to `WHO --help`; returns the usage exit status, 2. */
export function reportUsage(io: Io, who: string, message: string): number {
  io.err(`${who}: ${message}\nRun '${who} --help' for usage.\n`);
  return 2;
}

/**
 * A umbrella subcommand run as its own drop-in command (`qrexec-policy-graph`,
 * `qrexec-legacy-convert`): the same options and handler, with the
 * reference's argument style (`--source a b` takes both values).
 */
import yargs from 'yargs';
import { expected } from '../errors.js';
import type { SubCommand } from './command.js';
import type { Io } from '../io/io.js';
import { VERSION } from '../version.js';
import { rejectRepeatedOptions } from './options.js';

class UsageError extends Error {}

export async function standaloneMain(name: string, sub: SubCommand, argv: readonly string[], io: Io): Promise<number> {
  const built = sub.builder(
    yargs([...argv])
      .scriptName(name)
      .usage(`${sub.usage ?? 'usage: $0 [options]'}\n\n${sub.describe}`)
      .parserConfiguration({ 'parse-positional-numbers': false, 'parse-numbers': false, 'greedy-arrays': true })
      // printed by this function, so that the command never runs after them
      .help(false)
      .version(false)
      .option('help', { alias: 'h', type: 'boolean', describe: 'show this help' })
      .option('version', { type: 'boolean', describe: 'show the version' }),
  );
  // strict mode rejects unknown options and stray arguments; a command that takes words counts them itself
  const parser = (sub.positionals ? built.strictOptions() : built.strict())
    .check((a) => {
      if (sub.positionals && a._.length > sub.positionals) throw new Error(`unexpected argument ${JSON.stringify(String(a._[sub.positionals]))}`);
      return rejectRepeatedOptions(a, parser);
    })
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      // yargs gives no message only for an error thrown by a command handler, and this parser runs none
      /* c8 ignore next */
      if (msg === null || msg === undefined) throw err;
      throw new UsageError(msg);
    })
    .exitProcess(false);
  let a: Record<string, unknown>;
  try {
    a = (await parser.parseAsync()) as Record<string, unknown>;
  } catch (err) {
    expected(err, UsageError);
    io.err(`${name}: ${err.message}\n\nRun '${name} --help' for usage.\n`);
    return 2;
  }
  if (a['help']) {
    io.out((await parser.getHelp()) + '\n');
    return 0;
  }
  if (a['version']) {
    io.out(VERSION + '\n');
    return 0;
  }
  return sub.handler({ ...a, $0: name }, io);
}

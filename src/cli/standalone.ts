/**
 * A umbrella subcommand run as its own drop-in command (`qrexec-policy-graph`,
 * `qrexec-legacy-convert`): the same options and handler, with the
 * reference's argument style (`--source a b` takes both values).
 */
import yargs from 'yargs';
import { withExamples, type SubCommand } from './command.js';
import type { Io } from '../io/io.js';
import { VERSION } from '../version.js';
import { rejectRepeatedOptions } from './options.js';
import { parseCommandLine, protectStdin, reportUsage } from './parse.js';
import { expected, UsageError } from '../errors.js';

export async function standaloneMain(name: string, sub: SubCommand, argv: readonly string[], io: Io): Promise<number> {
  const built = withExamples(sub.builder(
    yargs(protectStdin(argv))
      .scriptName(name)
      .usage(`${sub.usage ?? 'usage: $0 [options]'}\n\n${sub.describe}`)
      .parserConfiguration({ 'parse-positional-numbers': false, 'parse-numbers': false, 'greedy-arrays': true })
      // printed by this function, so that the command never runs after them
      .help(false)
      .version(false)
      .option('help', { alias: 'h', type: 'boolean', describe: 'show this help' })
      .option('version', { type: 'boolean', describe: 'show the version' }),
  ), sub, '$0');
  // strict mode rejects unknown options and stray arguments; a command that takes words counts them itself
  const parser = (sub.positionals ? built.strictOptions() : built.strict())
    .check((a) => {
      if (sub.positionals && a._.length > sub.positionals) throw new Error(`unexpected argument ${JSON.stringify(String(a._[sub.positionals]))}`);
      return rejectRepeatedOptions(a, parser);
    })
    .wrap(Math.min(100, process.stdout.columns ?? 100));
  const a = await parseCommandLine(parser, name, argv, io);
  if (a === null) return 2;
  if (a['help']) {
    io.out((await parser.getHelp()) + '\n');
    return 0;
  }
  if (a['version']) {
    io.out(VERSION + '\n');
    return 0;
  }
  try {
    return await sub.handler({ ...a, $0: name }, io);
  } catch (err) {
    // a bad option value the command found itself
    expected(err, UsageError);
    return reportUsage(io, name, err.message);
  }
}

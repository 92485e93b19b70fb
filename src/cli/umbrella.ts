/**
 * `qrexec-policy`: the umbrella CLI (yargs). Subcommands for people and CI,
 * and the R4.0 per-call form `qrexec-policy [flags] DOMAIN_ID SOURCE TARGET
 * SERVICE PROCESS_IDENT`, recognised by its numeric first argument (SPEC §2).
 */
import { UsageError } from '../errors.js';
import yargs from 'yargs';
import { VERSION } from '../version.js';
import { defaultIo, type Io } from '../io/io.js';
import { execMain, parseExecArgs } from './exec-main.js';
import { rejectRepeatedOptions } from './options.js';
import { parseCommandLine, protectStdin } from './parse.js';
import { DECISION_COMMANDS, TOOL_COMMANDS } from './commands/index.js';
import { withExamples, type SubCommand } from './command.js';

/** Is this argv the R4.0 per-call form (first non-option argument is a decimal number)? */
export function isR40Form(argv: readonly string[]): boolean {
  try {
    const parsed = parseExecArgs(argv);
    return parsed.positionals.length > 0 && /^[0-9]+$/.test(parsed.positionals[0]!);
  } catch (err) {
    if (err instanceof UsageError) return false;
    throw err;
  }
}

export async function umbrellaMain(argv: readonly string[], io: Io = defaultIo()): Promise<number> {
  if (isR40Form(argv)) return execMain(argv, { version: VERSION, form: 'r40' });
  let status = 0;
  const parser = yargs(protectStdin(argv))
    .scriptName('qrexec-policy')
    .usage('$0 <command> [options]\n\nQubes OS qrexec policy: evaluate, explain and check policy.')
    // qube names like 12 stay strings; --path takes one value per use (not greedy)
    .parserConfiguration({ 'parse-positional-numbers': false, 'parse-numbers': false, 'greedy-arrays': false });
  const register = (sub: SubCommand) =>
    parser.command(sub.command, sub.describe, (y) => withExamples(sub.builder(y), sub, `$0 ${sub.command.split(' ')[0]!}`), async (a) => {
      status = await sub.handler(a as Record<string, unknown>, io);
    });
  DECISION_COMMANDS.forEach(register);
  parser.command(
      'exec',
      'the qrexec-policy-exec per-call interface (see qrexec-policy-exec --help)',
      (y) => y.help(false).strict(false),
      async () => {
        status = await execMain(argv.slice(argv.indexOf('exec') + 1), { version: VERSION });
      },
    );
  TOOL_COMMANDS.forEach(register);
  parser
    .check((a) => rejectRepeatedOptions(a, parser))
    .example('$0 eval work vault qubes.Gpg', 'allow, deny or ask, and the rule that decides')
    .example('$0 explain work personal qubes.Filecopy', 'the deciding rule and the rules passed over')
    .example('$0 why --journal --since today', "today's denials, explained with today's policy")
    .example('$0 lint', 'check the installed policy')
    .epilog('exit status: 0 success or allow, 1 deny or failure, 2 usage error, 3 ask (eval, explain), 4 could not decide (no system info, or a policy directory that cannot be read)')
    .demandCommand(1, 'a command is required')
    .strict()
    .version(VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(100, process.stdout.columns ?? 100));
  const commands = ['exec', ...[...DECISION_COMMANDS, ...TOOL_COMMANDS].map((c) => c.command.split(' ')[0]!)];
  if ((await parseCommandLine(parser, 'qrexec-policy', argv, io, commands)) === null) return 2;
  return status;
}

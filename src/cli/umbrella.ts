/**
 * `qrexec-policy`: the umbrella CLI (yargs). Subcommands for people and CI,
 * and the R4.0 per-call form `qrexec-policy [flags] DOMAIN_ID SOURCE TARGET
 * SERVICE PROCESS_IDENT`, recognised by its numeric first argument (SPEC §2).
 */
import { expected } from '../errors.js';
import yargs from 'yargs';
import { explain } from '../render/explain.js';
import { SystemInfoError } from '../policy/system-info.js';
import type { Level } from '../log.js';
import { VERSION } from '../version.js';
import { execMain, parseExecArgs, UsageError } from './exec-main.js';
import { defaultIo, evalStatus, runEval, type Io } from './eval-cmd.js';
import { obtainSystemInfo, openRuleSet } from './sources.js';
import { policyOptions, rejectRepeatedOptions, requestPositionals, requestWords, sourceOptions, type RequestWords } from './options.js';
import { SUBCOMMANDS } from './commands/index.js';

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

/** A usage problem found by yargs; stops the command before its handler runs. */
class CliUsageError extends Error {}

/** `--batch -` must mean standard input; yargs would read the lone dash as an empty value. */
export function normaliseArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--batch' && argv[i + 1] === '-') {
      out.push('--batch=-');
      i++;
    } else out.push(argv[i]!);
  }
  return out;
}

export async function umbrellaMain(argv: readonly string[], io: Io = defaultIo()): Promise<number> {
  if (isR40Form(argv)) return execMain(argv, { version: VERSION, form: 'r40' });
  let status = 0;
  const parser = yargs(normaliseArgv(argv))
    .scriptName('qrexec-policy')
    .usage('$0 <command> [options]\n\nQubes OS qrexec policy: evaluate, explain and check policy.')
    // qube names like 12 stay strings; --path takes one value per use (not greedy)
    .parserConfiguration({ 'parse-positional-numbers': false, 'parse-numbers': false, 'greedy-arrays': false })
    .command(
      'eval [source] [target] [service]',
      'decide one request (or many with --batch)',
      (y) =>
        requestPositionals(policyOptions(y), false)
          .usage('$0 eval [options] [--] SOURCE TARGET SERVICE[+ARG]\n$0 eval --json [options] --batch FILE|-\n\ndecide one request (or many with --batch)')
          .option('json', { type: 'boolean', describe: 'print the decision as one JSON object' })
          .option('batch', { type: 'string', describe: 'evaluate one JSON request per line of FILE (- for stdin)' })
          .check((a) => {
            if (a.batch !== undefined) return true;
            const w = requestWords(a);
            if (w.source === undefined || w.target === undefined || w.service === undefined)
              throw new Error('eval needs SOURCE TARGET SERVICE[+ARG] (or --batch FILE)');
            return true;
          })
          .epilog('exit status: 0 allow, 1 deny, 3 ask, 2 usage error'),
      async (a) => {
        const { source, target, service } = requestWords(a);
        status = await runEval(
          {
            ...sourceOptions(a),
            source,
            target,
            service,
            json: a.json,
            assumeYesForAsk: a.assumeYesForAsk,
            requestedSource: a.requestedSource,
            batch: a.batch,
            logLevel: a.logLevel as Level,
          },
          io,
        );
      },
    )
    .command(
      'explain [source] [target] [service]',
      'show which rule decides a request, and why the earlier ones did not',
      (y) =>
        requestPositionals(policyOptions(y), true)
          .usage('$0 explain [options] [--] SOURCE TARGET SERVICE[+ARG]\n\nshow which rule decides a request, and why the earlier ones did not')
          .option('all', { type: 'boolean', describe: 'list every rule passed over (default: the first 50)' })
          .epilog('exit status: as for eval (0 allow, 1 deny, 3 ask, 2 usage error)'),
      async (a) => {
        const { source, target, service } = requestWords(a) as Required<RequestWords>;
        try {
          const si = await obtainSystemInfo(sourceOptions(a), io.env);
          const { text, decision } = explain(
            openRuleSet(sourceOptions(a)),
            si,
            { source, target, service, requestedSource: a.requestedSource ?? null },
            { assumeYesForAsk: !!a.assumeYesForAsk, all: !!a.all },
          );
          io.out(text);
          status = evalStatus(decision);
        } catch (err) {
          expected(err, SystemInfoError);
          io.err(`qrexec-policy explain: ${err.message}\n`);
          status = 1;
        }
      },
    )
    .command(
      'exec',
      'the qrexec-policy-exec per-call interface (see qrexec-policy-exec --help)',
      (y) => y.help(false).strict(false),
      async () => {
        status = await execMain(argv.slice(argv.indexOf('exec') + 1), { version: VERSION });
      },
    );
  for (const sub of SUBCOMMANDS) {
    parser.command(sub.command, sub.describe, sub.builder, async (a) => {
      status = await sub.handler(a as Record<string, unknown>, io);
    });
  }
  parser
    .check((a) => rejectRepeatedOptions(a, parser))
    .demandCommand(1, 'a command is required')
    .strict()
    .version(VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      // a message means a usage problem; an error without one comes from a handler
      if (msg === null || msg === undefined) throw err;
      throw new CliUsageError(msg);
    })
    .exitProcess(false);
  try {
    await parser.parseAsync();
  } catch (err) {
    expected(err, CliUsageError);
    io.err(`qrexec-policy: ${err.message}\n\nRun 'qrexec-policy --help' for usage.\n`);
    return 2;
  }
  return status;
}

/** `qrexec-policy eval`: decide one request, or one per line with --batch. */
import type { Level } from '../../log.js';
import type { SubCommand } from '../command.js';
import { policyOptions, requestPositionals, requestWords, sourceOptions } from '../options.js';

export const command: SubCommand = {
  command: 'eval [source] [target] [service]',
  describe: 'decide one request (or many with --batch)',
  builder: (y) =>
    requestPositionals(policyOptions(y), false)
      .usage('$0 eval [options] [--] SOURCE TARGET SERVICE[+ARG]\n$0 eval --json [options] --batch FILE|-\n\ndecide one request (or many with --batch)')
      .option('json', { type: 'boolean', describe: 'print the decision as one JSON object' })
      .option('batch', { type: 'string', describe: 'evaluate one JSON request per line of FILE (- for standard input)' })
      .check((a) => {
        if (a.batch !== undefined) return true;
        const w = requestWords(a);
        if (w.source === undefined || w.target === undefined || w.service === undefined)
          throw new Error('needs SOURCE TARGET SERVICE[+ARG] (or --batch FILE)');
        return true;
      })
      .epilog('exit status: 0 allow, 1 deny, 3 ask, 2 usage error, 4 could not decide (no system info, or a policy directory that cannot be read)'),
  examples: [
    ['work vault qubes.Gpg', 'allow, deny or ask for one call'],
    ['--json work @dispvm qubes.OpenURL', 'the decision as JSON'],
    ['--json --batch requests.jsonl', 'one decision per line of requests'],
  ],
  handler: async (a, io) => {
    const { source, target, service } = requestWords(a as Parameters<typeof requestWords>[0]);
    const args = {
      ...sourceOptions(a),
      source,
      target,
      service,
      json: a['json'] as boolean | undefined,
      assumeYesForAsk: a['assumeYesForAsk'] as boolean | undefined,
      requestedSource: a['requestedSource'] as string | undefined,
      batch: a['batch'] as string | undefined,
      logLevel: a['logLevel'] as Level,
    };
    if (args.batch !== undefined) {
      const { runBatch } = await import('../../eval/batch.js');
      return runBatch(args, io);
    }
    const { runEval } = await import('../../eval/cli.js');
    return runEval(args, io);
  },
};

/** `qrexec-policy explain`: which rule decides a request, and why the earlier ones did not. */
import type { SubCommand } from '../command.js';
import { policyOptions, requestPositionals, requestWords, sourceOptions, type RequestWords } from '../options.js';

export const command: SubCommand = {
  command: 'explain [source] [target] [service]',
  describe: 'show which rule decides a request, and why the earlier ones did not',
  builder: (y) =>
    requestPositionals(policyOptions(y), true)
      .usage('$0 explain [options] [--] SOURCE TARGET SERVICE[+ARG]\n\nshow which rule decides a request, and why the earlier ones did not')
      .option('all', { type: 'boolean', describe: 'list every rule passed over (default: the first 50)' })
      .epilog('exit status: as for eval (0 allow, 1 deny, 3 ask, 2 usage error, 4 could not decide)'),
  examples: [
    ['work personal qubes.Filecopy', 'which rule decides, and why the earlier ones did not'],
    ['--all work vault qubes.Gpg', 'every rule passed over'],
  ],
  handler: async (a, io) => {
    const { source, target, service } = requestWords(a as Parameters<typeof requestWords>[0]) as Required<RequestWords>;
    const { runExplain } = await import('../../eval/cli.js');
    return runExplain(
      {
        ...sourceOptions(a),
        source,
        target,
        service,
        requestedSource: a['requestedSource'] as string | undefined,
        assumeYesForAsk: a['assumeYesForAsk'] as boolean | undefined,
        all: a['all'] as boolean | undefined,
      },
      io,
    );
  },
};

/** `qrexec-policy fmt`: align and normalise policy files. */
import type { SubCommand } from '../command.js';

export const command: SubCommand = {
  command: 'fmt <paths..>',
  describe: 'align and normalise policy files',
  builder: (y) =>
    y
      .positional('paths', { type: 'string', array: true, default: undefined, describe: 'policy files, directories (their *.policy files), globs, or - for standard input' })
      .option('check', { type: 'boolean', default: false, describe: 'change nothing; print a diff and exit 1 if a file is not formatted' })
      .option('include-service', {
        type: 'boolean',
        alias: 'i',
        default: false,
        describe: 'the files use the service-file format (SOURCE TARGET ACTION, as !include-service reads them)',
      })
      .epilog('exit status: 0 formatted, 1 not formatted (--check) or errors, 2 usage error'),
  examples: [
    ['/etc/qubes/policy.d', 'align every policy file in place'],
    ['--check policy.d/', 'a CI check: exit 1 and a diff if not formatted'],
  ],
  handler: async (a, io) => {
    const { runFmt } = await import('../../fmt/cli.js');
    return runFmt(
      { paths: a['paths'] as string[], check: a['check'] as boolean, includeService: a['includeService'] as boolean },
      io,
    );
  },
};

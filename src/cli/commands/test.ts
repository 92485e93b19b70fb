/** `qrexec-policy test`: run policy unit tests. */
import type { SubCommand } from '../command.js';
import { policyOptions, sourceOptions } from '../options.js';

export const command: SubCommand = {
  command: 'test <cases..>',
  describe: 'run policy unit tests',
  builder: (y) =>
    policyOptions(y)
      .positional('cases', {
        type: 'string',
        array: true,
        // (yargs would show [default: []])
        default: undefined,
        describe: "case files (one 'SOURCE TARGET SERVICE[+ARG] -> allow [T] | deny | ask [T,...]' per line, or JSON), globs, or directories",
      })
      .option('coverage', { type: 'boolean', default: false, describe: 'list the rules that no case reached' })
      .option('verbose', { type: 'boolean', alias: 'v', default: false, describe: 'print passing cases too' })
      .epilog('exit status: 0 every case passed, 1 a case failed (or the policy does not load), 2 usage error, 4 could not decide (no system info, or a policy directory that cannot be read)'),
  examples: [
    ['cases/', 'every case file in cases/'],
    ['--coverage --path policy.d cases.txt', 'the rules no case reaches'],
  ],
  handler: async (a, io) => {
    const { runTest } = await import('../../policytest/cli.js');
    return runTest(
      { ...sourceOptions(a), cases: a['cases'] as string[], coverage: a['coverage'] as boolean, verbose: a['verbose'] as boolean },
      io,
    );
  },
};

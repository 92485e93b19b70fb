/** `qrexec-policy lint`: check policy files for errors and likely mistakes. */
import type { SubCommand } from '../command.js';

const FORMATS = ['text', 'json', 'sarif', 'github'];

export const command: SubCommand = {
  command: 'lint [paths..]',
  describe: 'check policy files for errors and likely mistakes',
  builder: (y) =>
    y
      .positional('paths', {
        type: 'string',
        array: true,
        // (yargs would show [default: []])
        default: undefined,
        describe: 'policy directories, files or globs, or - for standard input (default: the policy directories)',
      })
      .option('path', {
        type: 'string',
        array: true,
        alias: 'policy-path',
        describe: 'policy directory (repeatable): lint them merged, as the evaluator reads them',
      })
      .option('legacy-path', {
        type: 'string',
        describe: 'R4.0 directory for !compat-4.0 (default /etc/qubes-rpc/policy; if that is missing, not checked)',
      })
      .option('system-info', {
        type: 'string',
        describe: 'qube facts as JSON (env QREXEC_POLICY_SYSTEM_INFO): also report unknown qubes, tags and types',
      })
      .option('format', { type: 'string', choices: FORMATS, default: 'text', describe: 'output format' })
      .option('strict', { type: 'boolean', default: false, describe: 'warnings fail too (exit 1)' })
      .option('quiet', { type: 'boolean', default: false, describe: 'print only the findings that fail' })
      .option('list-rules', { type: 'boolean', default: false, describe: 'print every rule id with its description' })
      .epilog('exit status: 0 no errors (and no warnings with --strict), 1 otherwise, 2 usage error'),
  examples: [
    ['', 'the installed policy directories'],
    ['--strict --format github policy.d/', 'a CI check of a policy repository'],
  ],
  handler: async (a, io) => {
    const { runLint } = await import('../../lint/cli.js');
    return runLint(
      {
        // yargs gives [undefined] for no paths (the default is left unset so that help shows none)
        paths: (a['paths'] as Array<string | undefined>).filter((p): p is string => p !== undefined),
        path: a['path'] as string[] | undefined,
        legacyPath: a['legacyPath'] as string | undefined,
        systemInfo: a['systemInfo'] as string | undefined,
        format: a['format'] as 'text',
        strict: a['strict'] as boolean,
        quiet: a['quiet'] as boolean,
        listRules: a['listRules'] as boolean,
      },
      io,
    );
  },
};

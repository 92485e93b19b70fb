/** `qrexec-policy convert` (and the drop-in `qrexec-legacy-convert`): R4.0 policy files → a policy.d file. */
import type { SubCommand } from '../command.js';

export const command: SubCommand = {
  command: 'convert',
  describe: 'convert the R4.0 policy files (!compat-4.0) to a policy.d file that decides alike',
  builder: (y) =>
    y
      .option('legacy-path', { type: 'string', describe: 'R4.0 policy directory (default /etc/qubes-rpc/policy)' })
      .option('output-dir', { type: 'string', describe: 'write the policy.d file into DIR (default: print it)' })
      .option('output-name', { type: 'string', describe: 'name of the file written (default 35-compat-converted.policy)' })
      .option('dry-run', { type: 'boolean', describe: 'convert and check, report, write nothing' })
      .option('force', { type: 'boolean', describe: 'replace an existing output file' })
      .epilog('exit status: 0 converted (rules that cannot apply are reported), 1 the R4.0 policy does not load or the file cannot be written, 2 usage error'),
  examples: [
    ['--dry-run', 'what the conversion would give'],
    ['--output-dir /etc/qubes/policy.d', 'write 35-compat-converted.policy'],
  ],
  handler: async (a, io) => {
    const { runConvert } = await import('../../convert/cli.js');
    return runConvert(
      {
        legacyPath: a['legacyPath'] as string | undefined,
        outputDir: a['outputDir'] as string | undefined,
        outputName: a['outputName'] as string | undefined,
        dryRun: a['dryRun'] as boolean | undefined,
        force: a['force'] as boolean | undefined,
      },
      io,
      a['$0'] === 'qrexec-legacy-convert' ? 'qrexec-legacy-convert' : 'qrexec-policy convert',
    );
  },
};

/**
 * `qrexec-policy diff OLD NEW`: which decisions a policy change changes.
 * The implementation (src/diff) is loaded only when the command runs.
 */
import type { SubCommand } from '../command.js';

export const command: SubCommand = {
  command: 'diff <old> <new>',
  describe: 'which decisions change between two policy directories',
  builder: (y) =>
    y
      .positional('old', { type: 'string', describe: 'the policy directory before the change' })
      .positional('new', { type: 'string', describe: 'the policy directory after the change' })
      .option('system-info', {
        type: 'string',
        describe: 'qube facts as JSON (env QREXEC_POLICY_SYSTEM_INFO); without it, ask qubesd',
      })
      .option('qubesd-internal-socket', { type: 'string', describe: 'qubesd internal socket (env QUBESD_INTERNAL_SOCKET)' })
      .option('legacy-path', { type: 'string', describe: 'R4.0 directory !compat-4.0 reads, for both trees (default /etc/qubes-rpc/policy)' })
      .option('format', { type: 'string', choices: ['text', 'json'], default: 'text', describe: 'text for people, or one JSON object per changed request' })
      .option('fail-on', {
        type: 'string',
        choices: ['any', 'new-allow'],
        default: 'any',
        describe: 'exit 1 on any change, or only on new access (a request that became allow, or an ask that offers a new target)',
      })
      .example('$0 diff /etc/qubes/policy.d ./policy.d', 'what would installing ./policy.d change?')
      .example('$0 diff --fail-on new-allow --format json main/policy.d pr/policy.d', 'CI gate: no new access')
      .epilog('exit status: 0 no decision changed, 1 some did (see --fail-on), 2 a tree or the system info cannot be used, or a usage error'),
  handler: async (a, io) => {
    const { runDiff } = await import('../../diff/cli.js');
    return runDiff(
      {
        old: a['old'] as string,
        new: a['new'] as string,
        systemInfo: a['systemInfo'] as string | undefined,
        qubesdInternalSocket: a['qubesdInternalSocket'] as string | undefined,
        legacyPath: a['legacyPath'] as string | undefined,
        format: a['format'] as 'text' | 'json',
        failOn: a['failOn'] as 'any' | 'new-allow',
      },
      io,
    );
  },
};

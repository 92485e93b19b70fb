/** `qubes-policy-editor`: edit a policy file safely (a drop-in command of its own, src/bin/qubes-policy-editor.ts). */
import type { SubCommand } from '../command.js';

export const command: SubCommand = {
  command: 'qubes-policy-editor',
  describe:
    'edit a policy file with $VISUAL, $EDITOR or vi; before saving, see the lint findings and which decisions the edit changes',
  usage: 'usage: $0 [include/]NAME [options]   (default 30-user)',
  positionals: 1,
  builder: (y) =>
    y
      .option('system-info', { type: 'string', describe: 'qube facts as JSON for the what-changes report (env QREXEC_POLICY_SYSTEM_INFO); in dom0 the default is to ask qubesd' })
      .option('qubesd-internal-socket', { type: 'string', describe: 'qubesd internal socket (env QUBESD_INTERNAL_SOCKET)' })
      .option('qrexec-client-vm', { type: 'string', describe: 'from a qube: call dom0 through this program (env QREXEC_CLIENT_VM; default /usr/bin/qrexec-client-vm when it exists, else this is dom0)' })
      .example('$0', 'edit 30-user.policy')
      .example('$0 include/admin-local-rwx', 'edit an include file')
      .epilog(
        'The file is saved with the token it was read with: a change made meanwhile is refused, not overwritten. ' +
          'A policy that would not load is never saved. Until it is saved, the edited text is kept in a file whose name is printed.\n' +
          'exit status: 0 saved, unchanged or quit, 1 not saved (refused or failed), 2 usage error',
      ),
  handler: async (a, io) => {
    const { runEditor, terminalAsk } = await import('../../admin/editor-cli.js');
    const words = (a['_'] as (string | number)[]).map(String);
    return runEditor(
      {
        name: words[0],
        systemInfo: a['systemInfo'] as string | undefined,
        qubesdInternalSocket: a['qubesdInternalSocket'] as string | undefined,
        qrexecClientVm: a['qrexecClientVm'] as string | undefined,
      },
      { ...io, ask: terminalAsk(io.err) },
    );
  },
};

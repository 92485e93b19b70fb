/** `qrexec-policy-restore`: put a backup's policy files back (a drop-in command of its own, src/bin/qrexec-policy-restore.ts). */
import { UsageError } from '../../errors.js';
import type { SubCommand } from '../command.js';

export const command: SubCommand = {
  command: 'qrexec-policy-restore',
  describe:
    "restore the policy files of a backup (NAME.policy files, and include/NAME) into the policy directory, includes before the files that include them, each checked like a Policy Admin API change",
  usage: 'usage: $0 [--dry-run] [--overwrite] [--dest DIR] BACKUP_DIR',
  positionals: 1,
  builder: (y) =>
    y
      .option('dry-run', { type: 'boolean', describe: 'check and report what would be restored; write nothing' })
      .option('overwrite', { type: 'boolean', describe: 'replace files that exist and differ (default: keep them)' })
      .option('dest', { type: 'string', describe: 'the policy directory (env QREXEC_POLICY_DIR; default /etc/qubes/policy.d)' })
      .epilog('A file is refused if the policy would not load with it; the others are still restored.\nexit status: 0 done, 1 some file refused, 2 usage error or unreadable directories'),
  examples: [
    ['--dry-run /backup/policy.d', 'what would be restored'],
    ['--overwrite /backup/policy.d', 'restore, replacing files that differ'],
  ],
  handler: async (a, io) => {
    const words = (a['_'] as (string | number)[]).map(String);
    if (words.length !== 1) throw new UsageError('give the backup directory: BACKUP_DIR');
    const { runRestore } = await import('../../admin/restore-cli.js');
    return runRestore(
      {
        backup: words[0]!,
        dest: a['dest'] as string | undefined,
        dryRun: !!a['dryRun'],
        overwrite: !!a['overwrite'],
      },
      io,
    );
  },
};

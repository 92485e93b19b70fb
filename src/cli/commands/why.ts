/** `qrexec-policy why`: explain logged decisions (the journal, a file, standard input) with today's policy. */
import type { SubCommand } from '../command.js';
import { policyOptions, sourceOptions } from '../options.js';

export const command: SubCommand = {
  command: 'why [file]',
  describe: "explain logged qrexec decisions with today's policy: the deciding rule, the rules passed over, a rule that shadows another file's allow",
  builder: (y) =>
    policyOptions(y)
      .positional('file', { type: 'string', describe: 'a log with decision lines (default: standard input)' })
      .option('journal', { type: 'boolean', describe: 'read the journal (journalctl -o cat) instead' })
      .option('since', { type: 'string', describe: 'with --journal: from this time on (as journalctl --since takes it: today, "1 hour ago", 2026-12-01)' })
      .option('summary', { type: 'boolean', describe: 'count the requests and the rules deciding them, most frequent first' })
      .check((a) => {
        if (a['since'] !== undefined && !a['journal']) throw new Error('--since needs --journal');
        if (a['journal'] && a['file'] !== undefined) throw new Error('give a file or --journal, not both');
        return true;
      })
      .epilog(
        "Decision lines are those of qrexec-policy-exec and the policy daemon, this project's and Qubes' alike: 'qrexec: SERVICE+ARG: SOURCE -> TARGET: allowed to X' or '... denied: REASON' (the 'qrexec:' tag may be missing, as journalctl -o cat shows Qubes' lines). A request the policy now decides differently is marked CHANGED.\n" +
          'exit status: 0 explained (or no decision lines), 1 the log cannot be read, 2 usage error, 4 could not decide (no system info, or a policy directory that cannot be read)',
      ),
  examples: [
    ['--journal --since today', "today's decisions, explained"],
    ['--journal --summary', 'which requests and rules, most frequent first'],
    ['/var/log/qubes/qrexec.log', 'decision lines in a file'],
  ],
  handler: async (a, io) => {
    const { runWhy } = await import('../../why/cli.js');
    return runWhy(
      { ...sourceOptions(a), file: a['file'] as string | undefined, journal: !!a['journal'], since: a['since'] as string | undefined, summary: !!a['summary'] },
      io,
    );
  },
};

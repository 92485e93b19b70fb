/**
 * `qrexec-policy list`: what each qube may call and who may call it. The
 * implementation (src/list) is loaded only when the command runs.
 */
import type { SubCommand } from '../command.js';
import { policyOptions, sourceOptions } from '../options.js';

export const command: SubCommand = {
  command: 'list',
  describe: 'what each qube may call and who may call it',
  builder: (y) =>
    policyOptions(y)
      .option('source', { type: 'string', array: true, describe: 'only calling qubes matching this glob (repeatable)' })
      .option('target', {
        type: 'string',
        array: true,
        describe: 'only targets matching this glob: qube names, dom0, @default, @dispvm, @dispvm:X (repeatable)',
      })
      .option('service', {
        type: 'string',
        array: true,
        describe: "only SERVICE or SERVICE+ARG names matching this glob; '*' is any other service (repeatable)",
      })
      .option('action', {
        type: 'string',
        array: true,
        describe: 'only these decisions: allow, ask, deny (comma-separated), or all; default allow,ask (the calls that may happen)',
      })
      .option('format', { type: 'string', choices: ['text', 'json'], default: 'text', describe: 'output format' })
      .option('explain', { type: 'boolean', describe: 'also show the rules passed over before the deciding one' })
      .option('color', {
        type: 'boolean',
        default: true,
        describe: 'colour on a terminal; --no-color (or NO_COLOR) turns it off',
      })
      .example('$0 list --source work', 'what may work call?')
      .example('$0 list --target vault', 'who may reach vault? (a call redirected elsewhere by target= is marked)')
      .example('$0 list --source work --action all', 'every decision for work, denials too')
      .example("$0 list --service 'qubes.Gpg*' --format json", 'every split-GPG decision as JSON')
      .epilog('exit status: 0 (also when nothing matches), 1 the policy does not load, 2 usage error, 4 could not decide (no system info, or a policy directory that cannot be read)'),
  handler: async (a, io) => {
    const { runList } = await import('../../list/cli.js');
    return runList(
      {
        ...sourceOptions(a),
        source: a['source'] as string[] | undefined,
        target: a['target'] as string[] | undefined,
        service: a['service'] as string[] | undefined,
        action: a['action'] as string[] | undefined,
        format: a['format'] as 'text' | 'json',
        explain: a['explain'] as boolean | undefined,
        color: a['color'] as boolean,
      },
      io,
    );
  },
};

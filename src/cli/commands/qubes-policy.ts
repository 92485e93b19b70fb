/** `qubes-policy`: the Policy Admin API client (a drop-in command of its own, src/bin/qubes-policy.ts). */
import type { SubCommand } from '../command.js';

export const command: SubCommand = {
  command: 'qubes-policy',
  describe: 'list, show, replace or remove policy files through the Policy Admin API',
  usage: 'usage: $0 {[-l]|-g|-r|-d} [include/][NAME] [options]',
  positionals: 1,
  builder: (y) =>
    y
      .option('list', { alias: 'l', type: 'boolean', describe: 'list the policy files (include/: the include files); the default' })
      .option('get', { alias: 'g', type: 'boolean', describe: 'print a file' })
      .option('replace', { alias: 'r', type: 'boolean', describe: 'replace (or create) a file with standard input' })
      .option('remove', { alias: 'd', type: 'boolean', describe: 'remove a file' })
      .option('token', { type: 'string', describe: "with -r/-d: only if the file is still as --get --with-token showed it (sha256:…), 'new': only if it does not exist, 'any'" })
      .option('with-token', { type: 'boolean', describe: 'with -g: print the token first, on a line of its own' })
      .option('qrexec-client-vm', { type: 'string', describe: 'call dom0 through this program (env QREXEC_CLIENT_VM; default /usr/bin/qrexec-client-vm when it exists, else this is dom0)' })
      .check((a) => {
        const methods = ['list', 'get', 'replace', 'remove'].filter((m) => a[m]);
        if (methods.length > 1) throw new Error(`give only one of --${methods.join(', --')}`);
        return true;
      })
      .example('$0 -g 30-user --with-token > 30-user.txt', 'the file, with the token to replace it with')
      .example('$0 -r 30-user --token sha256:… < 30-user.txt', 'replace it, unless it changed in between')
      .example('$0 -l include/', 'the include files')
      .epilog('A change is refused (exit 1) if the policy would not load with it, if the token does not match, or by the qrexec policy.\nexit status: 0 done, 1 refused or failed, 2 usage error'),
  handler: async (a, io) => {
    const { runPolicyCli } = await import('../../admin/policy-cli.js');
    const method = (['get', 'replace', 'remove'] as const).find((m) => a[m]) ?? 'list';
    const words = (a['_'] as (string | number)[]).map(String);
    return runPolicyCli(
      {
        method,
        name: words[0],
        token: a['token'] as string | undefined,
        withToken: !!a['withToken'],
        qrexecClientVm: a['qrexecClientVm'] as string | undefined,
      },
      io,
    );
  },
};

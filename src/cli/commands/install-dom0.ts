/** `qrexec-policy install-dom0`: switch qrexec-daemon over to this package's programs, and back. */
import type { SubCommand } from '../command.js';

export const command: SubCommand = {
  command: 'install-dom0',
  describe: "take over Qubes' policy programs and daemon (--enable), or give them back (--disable)",
  builder: (y) =>
    y
      .option('enable', { type: 'boolean', describe: "link Qubes' /usr/bin names to this package, keeping Qubes' files; run our policy daemon in place of Qubes'" })
      .option('disable', { type: 'boolean', describe: "put Qubes' files back as they were, and Qubes' policy daemon" })
      .option('root', { type: 'string', default: '/', describe: 'the directory standing for / (an image or a test tree); systemctl gets --root and starts nothing' })
      .option('dry-run', { type: 'boolean', describe: 'show what would change; change nothing' })
      .check((a) => {
        if (!a['enable'] === !a['disable']) throw new Error('give one of --enable or --disable');
        return true;
      })
      .example('$0 install-dom0 --enable --dry-run', 'what the switch would change')
      .example('$0 install-dom0 --enable', 'switch over (as root, in dom0)')
      .example('$0 install-dom0 --disable', "back to Qubes' programs, byte for byte")
      .epilog(
        "Every step is shown before it is made. Qubes' files are kept under /var/lib/qrexec-policy/dom0 and never missing in between: a call decided meanwhile finds one program or the other.\n" +
          'exit status: 0 done (or nothing to do), 1 failed (the message names the step; --disable undoes what was done), 2 usage error',
      ),
  handler: async (a, io) => {
    const { runInstallDom0 } = await import('../../install/cli.js');
    return runInstallDom0({ enable: !!a['enable'], root: a['root'] as string, dryRun: !!a['dryRun'] }, io);
  },
};

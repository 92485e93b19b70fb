/** `qrexec-policy completion bash|zsh`: the shell completion script; `--complete` answers it. */
import type { SubCommand } from '../command.js';

export const command: SubCommand = {
  command: 'completion [shell]',
  describe: 'print the bash or zsh completion script',
  builder: (y) =>
    y
      .positional('shell', { type: 'string', choices: ['bash', 'zsh'], describe: 'the shell' })
      .option('complete', { type: 'string', hidden: true, describe: 'the scripts ask this: complete word N of the words after --' })
      .parserConfiguration({ 'populate--': true })
      .check((a) => {
        if (a['complete'] === undefined && a['shell'] === undefined) throw new Error('name the shell: bash or zsh');
        return true;
      })
      .epilog(
        'Qube names come from the system info and service names from the policy, as the command line typed so far names them (--path, --system-info), else from their defaults. To install: qrexec-policy completion bash > /etc/bash_completion.d/qrexec-policy (the RPM installs both scripts).\n' +
          'exit status: 0 printed, 2 usage error',
      ),
  examples: [
    ['bash > ~/.local/share/bash-completion/completions/qrexec-policy', 'bash completion for one user'],
    ['zsh > ~/.zfunc/_qrexec-policy', 'zsh (with ~/.zfunc in fpath)'],
  ],
  handler: async (a, io) => {
    const { runCompletion } = await import('../completion-main.js');
    return runCompletion({ shell: a['shell'] as string | undefined, complete: a['complete'] as string | undefined, words: ((a['--'] ?? []) as unknown[]).map(String) }, io);
  },
};

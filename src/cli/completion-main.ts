/** `qrexec-policy completion`: print a script, or answer one (`--complete N -- WORDS`). */
import { UsageError } from '../errors.js';
import type { Io } from '../io/io.js';
import { complete, completionText } from '../completion/complete.js';
import { BASH, ZSH } from '../completion/scripts.js';
import { sourceLister } from '../completion/values.js';
import { commandSpec, EXEC, TOP } from './completion-table.js';
import { DECISION_COMMANDS, TOOL_COMMANDS } from './commands/index.js';

export interface CompletionArgs {
  shell: string | undefined;
  complete: string | undefined;
  words: string[];
}

export async function runCompletion(args: CompletionArgs, io: Io): Promise<number> {
  if (args.complete === undefined) {
    io.out(args.shell === 'zsh' ? ZSH : BASH);
    return 0;
  }
  const cword = Number(args.complete);
  if (!/^[0-9]+$/.test(args.complete) || cword < 1) throw new UsageError(`--complete needs the number of the word to complete, not ${args.complete}`);
  const commands = [...DECISION_COMMANDS.map(commandSpec), EXEC, ...TOOL_COMMANDS.map(commandSpec)];
  io.out(completionText(await complete(commands, TOP, args.words, cword, sourceLister(io.env))));
  return 0;
}

/** `qrexec-policy convert`: convert R4.0 policy files to policy.d files. */
import { notYetImplemented, type SubCommand } from '../command.js';

export const command: SubCommand = notYetImplemented('convert', 'convert R4.0 policy files to policy.d files');

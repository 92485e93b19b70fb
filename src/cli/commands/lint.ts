/** `qrexec-policy lint`: check policy files for errors and likely mistakes. */
import { notYetImplemented, type SubCommand } from '../command.js';

export const command: SubCommand = notYetImplemented('lint', 'check policy files for errors and likely mistakes');

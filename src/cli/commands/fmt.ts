/** `qrexec-policy fmt`: align and normalise policy files. */
import { notYetImplemented, type SubCommand } from '../command.js';

export const command: SubCommand = notYetImplemented('fmt', 'align and normalise policy files');

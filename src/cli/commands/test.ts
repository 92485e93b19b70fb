/** `qrexec-policy test`: run policy unit tests. */
import { notYetImplemented, type SubCommand } from '../command.js';

export const command: SubCommand = notYetImplemented('test', 'run policy unit tests');

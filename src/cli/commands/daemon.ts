/** `qrexec-policy daemon`: serve policy decisions on a unix socket. */
import { notYetImplemented, type SubCommand } from '../command.js';

export const command: SubCommand = notYetImplemented('daemon', 'serve policy decisions on a unix socket');

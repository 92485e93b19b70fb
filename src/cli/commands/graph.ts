/** `qrexec-policy graph`: draw who may call whom (DOT). */
import { notYetImplemented, type SubCommand } from '../command.js';

export const command: SubCommand = notYetImplemented('graph', 'draw who may call whom (DOT)');

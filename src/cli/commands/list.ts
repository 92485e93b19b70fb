/** `qrexec-policy list`: what each qube may call and who may call it. */
import { notYetImplemented, type SubCommand } from '../command.js';

export const command: SubCommand = notYetImplemented('list', 'what each qube may call and who may call it');

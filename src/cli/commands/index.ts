/** The umbrella's subcommands besides eval, explain and exec, in help order. */
import type { SubCommand } from '../command.js';
import { command as list } from './list.js';
import { command as lint } from './lint.js';
import { command as test } from './test.js';
import { command as graph } from './graph.js';
import { command as convert } from './convert.js';
import { command as daemon } from './daemon.js';
import { command as fmt } from './fmt.js';
import { command as diff } from './diff.js';

export const SUBCOMMANDS: readonly SubCommand[] = [list, lint, test, graph, convert, daemon, fmt, diff];

/** The umbrella's subcommands (besides `exec` and the R4.0 per-call form), in help order. */
import type { SubCommand } from '../command.js';
import { command as evalCommand } from './eval.js';
import { command as explain } from './explain.js';
import { command as list } from './list.js';
import { command as lint } from './lint.js';
import { command as test } from './test.js';
import { command as graph } from './graph.js';
import { command as convert } from './convert.js';
import { command as daemon } from './daemon.js';
import { command as fmt } from './fmt.js';
import { command as diff } from './diff.js';
import { command as installDom0 } from './install-dom0.js';
import { command as completion } from './completion.js';
import { command as why } from './why.js';

/** The commands that decide one request; `exec` follows them in the help. */
export const DECISION_COMMANDS: readonly SubCommand[] = [evalCommand, explain, why];

/** The tools around the policy. */
export const TOOL_COMMANDS: readonly SubCommand[] = [list, lint, test, graph, convert, daemon, fmt, diff, installDom0, completion];

/**
 * `qrexec-policy install-dom0`: print what the switch changes, then change
 * it (or only print it with --dry-run). The work is in dom0.ts.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describeIo, expected } from '../errors.js';
import type { Io } from '../io/io.js';
import { apply, describeStep, Dom0Error, planDisable, planEnable, type Dom0Options, type FsOps } from './dom0.js';

export interface InstallArgs {
  enable: boolean;
  root: string;
  dryRun: boolean;
}

/** systemctl from PATH, its output gathered for a failure message. */
export function runSystemctl(args: string[], env: NodeJS.ProcessEnv): { status: number | null; output: string } {
  const r = spawnSync('systemctl', args, { encoding: 'utf8', env });
  if (r.error) return { status: null, output: `systemctl: ${describeIo(r.error)}` };
  return { status: r.status, output: r.stdout + r.stderr };
}

export async function runInstallDom0(args: InstallArgs, io: Io, fsOps?: FsOps): Promise<number> {
  const root = path.resolve(args.root);
  const what = args.enable ? '--enable' : '--disable';
  try {
    const steps = args.enable ? planEnable(root) : planDisable(root);
    if (steps.length === 0) {
      io.out(`install-dom0 ${what}: nothing to do (Qubes' programs are in use)\n`);
      return 0;
    }
    io.out(`install-dom0 ${what}${args.dryRun ? ' would' : ' will'} in ${root}:\n${steps.map((s) => `  ${describeStep(s)}\n`).join('')}`);
    if (args.dryRun) return 0;
    const opts: Dom0Options = { root, systemctl: (a) => runSystemctl(a, io.env), ...(fsOps ? { fsOps } : {}) };
    apply(steps, opts);
    io.out(args.enable ? 'done: qrexec-daemon now asks qrexec-policy (undo: qrexec-policy install-dom0 --disable)\n' : "done: Qubes' policy programs are back\n");
    return 0;
  } catch (err) {
    expected(err, Dom0Error);
    io.err(`qrexec-policy install-dom0: ${err.message}\n`);
    return 1;
  }
}

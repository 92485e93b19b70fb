/**
 * `qrexec-policy install-dom0 --enable|--disable`: the switch between
 * Qubes' policy programs and ours. The package installs everything under
 * its own names (install/names.ts); this takes over Qubes' /usr/bin names
 * and the policy daemon's unit, and gives them back byte for byte.
 *
 * Nothing is ever missing in between: Qubes' file is first kept (a hard
 * link, or a copy across file systems) and our link then renamed over it;
 * going back renames the kept file over our link. qrexec-daemon runs
 * qrexec-policy-exec at any moment, so a window without it would deny calls.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeIo } from '../errors.js';
import { COMMAND_DIR, COMMANDS, OUR_UNIT, QUBES_UNIT, STATE_DIR } from './names.js';

/** What --enable did to one name: Qubes' file kept in the backup directory, or there was none. */
type Taken = 'kept' | 'absent';

interface State {
  taken: Record<string, Taken>;
}

export type Step =
  | { kind: 'take'; name: string; had: Taken }
  | { kind: 'give-back'; name: string; had: Taken; replaced: boolean }
  | { kind: 'systemctl'; args: string[] };

/** The file system calls that may fail across devices (tests pass ones that do). */
export interface FsOps {
  link(existing: string, made: string): void;
  rename(from: string, to: string): void;
}

const REAL_FS: FsOps = { link: fs.linkSync, rename: fs.renameSync };

export interface Dom0Options {
  /** The directory standing for `/` (default `/`). */
  root: string;
  /** Run this for systemctl (default: `systemctl` on PATH). */
  systemctl: (args: string[]) => { status: number | null; output: string };
  fsOps?: FsOps;
}

export class Dom0Error extends Error {
  override name = 'Dom0Error';
}

const usrBin = (name: string) => `/usr/bin/${name}`;
const ourLink = (name: string) => `${COMMAND_DIR}/${name}`;
const backupOf = (name: string) => `${STATE_DIR}/backup/${name}`;
const STATE_FILE = `${STATE_DIR}/state.json`;

/** `p` (absolute, as in dom0) inside the root. */
function under(root: string, p: string): string {
  return path.join(root, p);
}

function lstat(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Dom0Error(`${p}: ${describeIo(err)}`);
  }
}

/** Is `p` our link for `name` (what --enable puts there)? */
function isOurs(p: string, name: string): boolean {
  const st = lstat(p);
  return st !== null && st.isSymbolicLink() && fs.readlinkSync(p) === ourLink(name);
}

function readState(root: string): State | null {
  const file = under(root, STATE_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Dom0Error(`${file}: ${describeIo(err)}`);
  }
  try {
    const state = JSON.parse(text) as State;
    if (typeof state.taken !== 'object' || state.taken === null) throw new Error('no "taken"');
    for (const [name, had] of Object.entries(state.taken))
      if (!COMMANDS.includes(name) || (had !== 'kept' && had !== 'absent')) throw new Error(`unknown entry ${name}`);
    return state;
  } catch (err) {
    throw new Dom0Error(`${file}: not a state file this version wrote (${(err as Error).message}); restore Qubes' files from ${STATE_DIR}/backup by hand`);
  }
}

export function systemctlSteps(root: string, stop: string, start: string): Step[] {
  // in a root other than / nothing runs: only the enablement links change
  if (root !== '/') return [{ kind: 'systemctl', args: [`--root=${root}`, 'disable', stop] }, { kind: 'systemctl', args: [`--root=${root}`, 'enable', start] }];
  return [{ kind: 'systemctl', args: ['disable', '--now', stop] }, { kind: 'systemctl', args: ['enable', '--now', start] }];
}

/** What --enable would do in `root`; refuses when the package's commands are not there. */
export function planEnable(root: string): Step[] {
  const steps: Step[] = [];
  for (const name of COMMANDS) {
    if (lstat(under(root, ourLink(name))) === null)
      throw new Dom0Error(`${ourLink(name)} does not exist under ${root}: install the qrexec-policy package first`);
    const p = under(root, usrBin(name));
    if (isOurs(p, name)) continue;
    steps.push({ kind: 'take', name, had: lstat(p) === null ? 'absent' : 'kept' });
  }
  return [...steps, ...systemctlSteps(root, QUBES_UNIT, OUR_UNIT)];
}

/** What --disable would do in `root`: give back what --enable took (nothing if it never ran). */
export function planDisable(root: string): Step[] {
  const state = readState(root);
  if (state === null) return [];
  const steps: Step[] = Object.entries(state.taken).map(([name, had]) => ({
    kind: 'give-back' as const,
    name,
    had,
    // a package update put a new file of Qubes' there since: it stays
    replaced: !isOurs(under(root, usrBin(name)), name),
  }));
  return [...steps, ...systemctlSteps(root, OUR_UNIT, QUBES_UNIT)];
}

/** One line per step, for the administrator to read before it happens. */
export function describeStep(step: Step): string {
  switch (step.kind) {
    case 'take':
      return step.had === 'kept'
        ? `replace ${usrBin(step.name)} with a link to ${ourLink(step.name)} (Qubes' file kept as ${backupOf(step.name)})`
        : `link ${usrBin(step.name)} to ${ourLink(step.name)} (there is no such file now)`;
    case 'give-back':
      if (step.replaced) return `keep ${usrBin(step.name)}: a package update replaced our link since${step.had === 'kept' ? `; drop the older ${backupOf(step.name)}` : ''}`;
      return step.had === 'kept' ? `put Qubes' ${usrBin(step.name)} back from ${backupOf(step.name)}` : `remove the link ${usrBin(step.name)} (there was no such file before)`;
    case 'systemctl':
      return `run systemctl ${step.args.join(' ')}`;
  }
}

/** Copy `from` to `to` as it is: bytes, or the link's target; mode, owner and times. */
function copyAsIs(from: string, to: string): void {
  const st = fs.lstatSync(from);
  fs.rmSync(to, { force: true });
  if (st.isSymbolicLink()) {
    fs.symlinkSync(fs.readlinkSync(from), to);
    fs.lchownSync(to, st.uid, st.gid);
    return;
  }
  fs.copyFileSync(from, to);
  fs.chownSync(to, st.uid, st.gid);
  fs.chmodSync(to, st.mode & 0o7777);
  fs.utimesSync(to, st.atime, st.mtime);
  const fd = fs.openSync(to, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

const crossesDevices = (err: unknown) => (err as NodeJS.ErrnoException).code === 'EXDEV';

/** Keep `from` as `to` without touching `from`: a hard link, or a copy on another file system. */
function keep(ops: FsOps, from: string, to: string): void {
  fs.rmSync(to, { force: true });
  try {
    ops.link(from, to);
  } catch (err) {
    if (!crossesDevices(err)) throw err;
    copyAsIs(from, to);
  }
}

/** Put `from` in place of `to` in one rename (through a copy next to `to` across file systems). */
function putInPlace(ops: FsOps, from: string, to: string): void {
  try {
    ops.rename(from, to);
  } catch (err) {
    if (!crossesDevices(err)) throw err;
    const tmp = `${to}.qrexec-policy-tmp`;
    copyAsIs(from, tmp);
    fs.renameSync(tmp, to);
    fs.rmSync(from);
  }
}

function writeState(root: string, state: State): void {
  const file = under(root, STATE_FILE);
  const tmp = file + '.tmp';
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o644 });
  const fd = fs.openSync(tmp, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** Carry out `steps` (from planEnable / planDisable) in `root`; a failure is a Dom0Error naming the step. */
export function apply(steps: readonly Step[], opts: Dom0Options): void {
  const { root } = opts;
  const ops = opts.fsOps ?? REAL_FS;
  const state: State = readState(root) ?? { taken: {} };
  for (const step of steps) {
    try {
      if (step.kind === 'take') {
        fs.mkdirSync(under(root, `${STATE_DIR}/backup`), { recursive: true, mode: 0o700 });
        const p = under(root, usrBin(step.name));
        if (step.had === 'kept') keep(ops, p, under(root, backupOf(step.name)));
        // recorded before the switch: --disable knows of it whatever happens next
        state.taken[step.name] = step.had;
        writeState(root, state);
        const tmp = `${p}.qrexec-policy-tmp`;
        fs.rmSync(tmp, { force: true });
        fs.symlinkSync(ourLink(step.name), tmp);
        fs.renameSync(tmp, p);
      } else if (step.kind === 'give-back') {
        const p = under(root, usrBin(step.name));
        const backup = under(root, backupOf(step.name));
        if (step.replaced) fs.rmSync(backup, { force: true });
        else if (step.had === 'kept') putInPlace(ops, backup, p);
        else fs.rmSync(p);
        delete state.taken[step.name];
        writeState(root, state);
      } else {
        const { status, output } = opts.systemctl(step.args);
        if (status !== 0) throw new Error(`exit status ${status}${output.trim() ? `: ${output.trim().replace(/\s*\n\s*/g, '; ')}` : ''}`);
      }
    } catch (err) {
      throw new Dom0Error(`could not ${describeStep(step)}: ${describeIo(err)}`);
    }
  }
  // everything given back: no trace of --enable is left
  if (Object.keys(state.taken).length === 0) fs.rmSync(under(root, STATE_DIR), { recursive: true, force: true });
}

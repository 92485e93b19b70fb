/**
 * `qrexec-policy-restore [--dry-run] [--overwrite] [--dest DIR] BACKUP_DIR`:
 * put the policy files of a backup (`*.policy`, and `include/*`) back into
 * the policy directory (issue 16). Qubes' tool of that name calls a
 * function its parser does not have and writes files unchecked; this one
 * restores in an order in which every file a backup file includes is
 * there before it, and each file goes through the Policy Admin API's own
 * validation (the whole policy must load with it) and atomic, durable
 * write, under the directory lock held for the whole run. Files that exist
 * are kept unless --overwrite; --dry-run reports the same without writing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Io } from '../io/io.js';
import { describeIo, expected } from '../errors.js';
import { byteCompare } from '../parser/text.js';
import { POLICY_SUFFIX } from '../parser/loader.js';
import { PolicyAdminException, PolicyAdminSyntaxException } from './errors.js';
import { LockError, withDirLock } from './lock.js';
import { adminContext, adminLogger } from './call.js';
import { displayName, INCLUDE_DIR, isValidName, target, type Area, type Target } from './names.js';
import { currentBytes } from './services.js';
import { tokenOf } from './token.js';
import { decodePolicyText, loadErrorAfter, type Change } from './validate.js';
import { ensureDirLike, groupId, POLICY_GROUP, removeLeftovers, writeFileAtomic } from './write.js';

export interface RestoreArgs {
  backup: string;
  dest: string | undefined;
  dryRun: boolean;
  overwrite: boolean;
}

const NAME = 'qrexec-policy-restore';

interface BackupFile {
  /** Where it is in the backup. */
  source: string;
  target: Target;
  data: Buffer;
}

/** A directory of the restore cannot be read: nothing is done. */
class UnreadableError extends Error {}

/** `fn()`, with a file-system error turned into an UnreadableError naming `what`. */
function reading<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new UnreadableError(`cannot read ${what}: ${describeIo(err)}`);
  }
}

/** The backup's policy files, and what is left out and why. */
function readBackup(backup: string, dest: string): { files: BackupFile[]; ignored: string[] } {
  const files: BackupFile[] = [];
  const ignored: string[] = [];
  const scan = (dir: string, area: Area) => {
    // a backup without include/ has no include files
    if (area === 'include' && !fs.existsSync(dir)) return;
    const names = reading(dir, () => fs.readdirSync(dir));
    for (const n of names.sort(byteCompare)) {
      const source = path.join(dir, n);
      if (area === 'policy' && n === INCLUDE_DIR) continue;
      if (!reading(source, () => fs.statSync(source)).isFile()) {
        ignored.push(`${source}: not a file`);
        continue;
      }
      const name = area === 'include' ? n : n.endsWith(POLICY_SUFFIX) ? n.slice(0, -POLICY_SUFFIX.length) : '';
      if (!isValidName(name)) {
        ignored.push(`${source}: not a policy file name (NAME.policy or include/NAME, NAME of a-z 0-9 _ -)`);
        continue;
      }
      files.push({ source, target: target(dest, area, name), data: reading(source, () => fs.readFileSync(source)) });
    }
  };
  scan(backup, 'policy');
  scan(path.join(backup, INCLUDE_DIR), 'include');
  return { files, ignored };
}

/** The paths a file's include directives name (`!include`, `!include-service`, `!include-dir`, `$include:`), resolved as the loader does. */
function includedPaths(text: string, dest: string): { files: string[]; dirs: string[] } {
  const files: string[] = [];
  const dirs: string[] = [];
  const at = (p: string) => path.resolve(dest, p);
  for (const raw of text.split('\n')) {
    const w = raw.trim().split(/\s+/);
    if (w[0] === '!include' && w.length === 2) files.push(at(w[1]!));
    else if (w[0] === '!include-service' && w.length === 4) files.push(at(w[3]!));
    else if (w[0] === '!include-dir' && w.length === 2) dirs.push(at(w[1]!));
    else if (w[0]!.startsWith('$include:')) files.push(at(w[0]!.slice('$include:'.length)));
  }
  return { files, dirs };
}

/**
 * Backup files in an order where what a file includes comes before it
 * (depth first, include files first, then by name; a cycle is broken
 * where it closes; the validation refuses it anyway).
 */
export function restoreOrder(files: readonly BackupFile[], dest: string): BackupFile[] {
  const byPath = new Map(files.map((f) => [f.target.path, f]));
  const order: BackupFile[] = [];
  const state = new Map<BackupFile, 'visiting' | 'done'>();
  const visit = (f: BackupFile) => {
    if (state.has(f)) return;
    state.set(f, 'visiting');
    const inc = includedPaths(f.data.toString('utf8'), dest);
    const deps = [...inc.files.map((p) => byPath.get(p)), ...files.filter((g) => inc.dirs.includes(g.target.dir))];
    for (const d of deps) if (d !== undefined && d !== f) visit(d);
    state.set(f, 'done');
    order.push(f);
  };
  for (const f of files.filter((x) => x.target.area === 'include')) visit(f);
  for (const f of files) visit(f);
  return order;
}

type Outcome = 'restored' | 'unchanged' | 'kept' | 'refused';

export async function runRestore(args: RestoreArgs, io: Io): Promise<number> {
  // the directories the Policy Admin API service would use
  const ctx = adminContext(io.env);
  const dest = args.dest ?? ctx.policyDir;
  const legacyDir = ctx.legacyDir;
  let backup: { files: BackupFile[]; ignored: string[] };
  try {
    if (!reading(dest, () => fs.statSync(dest)).isDirectory()) throw new UnreadableError(`cannot read ${dest}: not a directory`);
    backup = readBackup(args.backup, dest);
  } catch (err) {
    expected(err, UnreadableError);
    io.err(`${NAME}: ${err.message}\n`);
    return 2;
  }
  for (const i of backup.ignored) io.err(`${NAME}: ignored ${i}\n`);
  const { log } = adminLogger(io.env);
  const gid = groupId(POLICY_GROUP);
  const would = args.dryRun ? 'would be ' : '';
  const count: Record<Outcome, number> = { restored: 0, unchanged: 0, kept: 0, refused: 0 };

  const restoreAll = () => {
    if (!args.dryRun) {
      removeLeftovers(dest);
      removeLeftovers(path.join(dest, INCLUDE_DIR));
    }
    // in a dry run, the files "restored" so far exist only here
    const pending: Change[] = [];
    for (const f of restoreOrder(backup.files, dest)) {
      const t = f.target;
      const shown = displayName(t);
      let outcome: Outcome;
      let why = '';
      try {
        const current = currentBytes(t);
        if (current !== null && current.equals(f.data)) outcome = 'unchanged';
        else if (current !== null && !args.overwrite) {
          outcome = 'kept';
          why = ': it exists and differs (--overwrite replaces it)';
        } else {
          const decoded = decodePolicyText(f.data);
          if ('badLine' in decoded) throw new PolicyAdminSyntaxException(`${f.source}:${decoded.badLine}: not valid UTF-8`);
          const err = loadErrorAfter(dest, legacyDir, [...pending, { path: t.path, content: decoded.text }]);
          if (err !== null) throw new PolicyAdminSyntaxException(`the policy would not load with it: ${err.describe()}`);
          outcome = 'restored';
          if (current !== null) why = ' (replacing the existing file)';
          if (args.dryRun) pending.push({ path: t.path, content: decoded.text });
          else {
            if (t.area === 'include') ensureDirLike(t.dir, dest);
            writeFileAtomic(t.path, f.data, { gid });
            log.log('info', `${NAME} from ${f.source}: ${current === null ? 'created' : 'replaced'} ${t.path} ${current === null ? '(none)' : tokenOf(current)} -> ${tokenOf(f.data)}`);
          }
        }
      } catch (err) {
        expected(err, PolicyAdminException);
        outcome = 'refused';
        why = `: ${err.message}`;
      }
      count[outcome]++;
      const verb = outcome === 'kept' ? 'not restored' : outcome === 'refused' ? 'refused' : outcome === 'restored' ? `${would}restored` : 'unchanged';
      (outcome === 'refused' ? io.err : io.out)(`${outcome === 'refused' ? `${NAME}: ` : ''}${shown}: ${verb}${why}\n`);
    }
  };
  try {
    await withDirLock(dest, restoreAll, { env: io.env });
  } catch (err) {
    expected(err, LockError);
    io.err(`${NAME}: ${err.message}\n`);
    return 2;
  }
  io.out(
    `${count.restored} ${would}restored, ${count.unchanged} unchanged, ${count.kept} kept as they are, ${count.refused} refused` +
      (args.dryRun ? ' (dry run: nothing written)' : '') +
      '\n',
  );
  return count.refused ? 1 : 0;
}

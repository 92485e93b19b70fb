/**
 * `qrexec-policy diff OLD NEW`: what a change to the policy changes
 * (issue 16). Loads both trees with the real loader, compares every
 * request of the space, prints the changes. Exit 0 nothing changed, 1
 * something did (with `--fail-on new-allow`: only new access counts),
 * 2 a tree or the system info cannot be used, or a usage error.
 */
import { expected } from '../errors.js';
import { joinPath, nodeFileSource } from '../parser/file-source.js';
import { asGiven, type ShowPath } from '../render/text.js';
import { DEFAULT_LEGACY_PATH } from '../parser/loader.js';
import { loadPolicySet, type Policy } from '../policy/policy.js';
import { SystemInfoError, type SystemInfo } from '../policy/system-info.js';
import { BufferedOut, OutputClosed, streamSink } from '../list/output.js';
import type { ListIo } from '../list/cli.js';
import { obtainSystemInfo, type SourceOptions } from '../io/sources.js';
import { diffPolicies, type DiffResult } from './compare.js';
import { givesNewAccess } from './outcome.js';
import { changeJson, diffTextLines } from './render.js';

export const FAIL_ON = ['any', 'new-allow'] as const;
export type FailOn = (typeof FAIL_ON)[number];

export interface DiffArgs extends Pick<SourceOptions, 'systemInfo' | 'qubesdInternalSocket' | 'legacyPath'> {
  old: string;
  new: string;
  format?: 'text' | 'json' | undefined;
  failOn?: FailOn | undefined;
}

const NAME = 'qrexec-policy diff';

/** A policy directory loaded for comparison, or why it cannot be compared. */
function loadTree(dir: string, legacyPath: string): Policy | string {
  if (nodeFileSource.kind(dir) !== 'dir') return `${dir} is not a directory`;
  const p = loadPolicySet({ paths: [dir], legacyPath });
  // a policy with errors denies everything: comparing it would report noise, not the change
  return p.error ? `${dir} does not load: ${p.error.describe()}` : p;
}

/** The exit status for a result: 1 when it changed what `--fail-on` asks about. */
export function diffStatus(r: DiffResult, failOn: FailOn = 'any'): number {
  const counted = failOn === 'new-allow' ? r.changes.filter((c) => givesNewAccess(c.before, c.after)) : r.changes;
  return counted.length ? 1 : 0;
}

export async function runDiff(args: DiffArgs, io: ListIo): Promise<number> {
  const legacyPath = args.legacyPath ?? DEFAULT_LEGACY_PATH;
  const trees = [loadTree(args.old, legacyPath), loadTree(args.new, legacyPath)];
  const problems = trees.filter((t): t is string => typeof t === 'string');
  if (problems.length) {
    for (const p of problems) io.err(`${NAME}: ${p}\n`);
    return 2;
  }
  let si: SystemInfo;
  try {
    si = await obtainSystemInfo(args, io.env);
  } catch (err) {
    expected(err, SystemInfoError);
    io.err(`${NAME}: ${err.message}\n`);
    return 2;
  }
  const result = diffPolicies(trees[0] as Policy, trees[1] as Policy, si);
  const sink = streamSink(io.stream ?? process.stdout, io.out);
  const out = new BufferedOut(sink);
  try {
    const show = asGiven([args.old, args.new, legacyPath].map((d) => [joinPath(d, '.'), nodeFileSource.resolve(d)] as const));
    await (args.format === 'json' ? writeJson(result, out) : writeText(result, out, show)).finally(sink.release);
  } catch (err) {
    // the reader left (`diff | head`): stop quietly; the report is incomplete, so not 0
    expected(err, OutputClosed);
    return 1;
  }
  return diffStatus(result, args.failOn);
}

async function writeJson(result: DiffResult, out: BufferedOut): Promise<void> {
  // a big change is a lot of JSON (every ask target, twice): written as it is made
  for (const c of result.changes) {
    out.write(changeJson(c) + '\n');
    if (out.full) await out.flush();
  }
  await out.flush();
}

async function writeText(result: DiffResult, out: BufferedOut, show: ShowPath): Promise<void> {
  if (result.changes.length === 0) out.write(`no decision changed (${result.requests} requests compared)\n`);
  for (const line of diffTextLines(result.changes, { show })) {
    out.write(line + '\n');
    if (out.full) await out.flush();
  }
  await out.flush();
}

/**
 * `qubes-policy-editor [NAME]`: edit one policy file safely (issue 16).
 * Get it with its token; edit a copy with $VISUAL / $EDITOR / vi (run
 * without a shell); lint the whole policy with the edit in place; show what
 * the edit changes (the semantic diff of the whole policy, before vs after);
 * then edit again, save (Replace with the original token: a change made
 * meanwhile is refused, not overwritten) or quit. The service refuses a
 * policy that does not load, so nothing broken is ever installed; and
 * whatever happens, the edited text is kept in a named file until it is
 * saved.
 *
 * In dom0 the policy is read where it lives (the runtime directory, then
 * QREXEC_POLICY_DIR). From a qube it is fetched through the API (List and
 * Get of every file); R4.0 files are not visible from there, and without
 * system info (--system-info or QREXEC_POLICY_SYSTEM_INFO) there is no diff.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Io } from '../io/io.js';
import { obtainSystemInfo } from '../io/sources.js';
import { describeIo, expected } from '../errors.js';
import { memoryFileSource, nodeFileSource, type FileSource } from '../parser/file-source.js';
import { DEFAULT_LEGACY_PATH, PolicyLoader, POLICY_SUFFIX, RUNTIME_POLICY_PATH } from '../parser/loader.js';
import { Policy } from '../policy/policy.js';
import { SystemInfoError, type SystemInfo } from '../policy/system-info.js';
import { lint } from '../lint/lint.js';
import { textLine } from '../lint/output.js';
import type { Diagnostic } from '../lint/rules.js';
import { diffPolicies } from '../diff/compare.js';
import { diffText } from '../diff/render.js';
import { callProblem, chooseTransport, describeProblem, PolicyClient } from './client.js';
import { adminContext, DEFAULT_POLICY_DIR } from './call.js';
import { displayName, INCLUDE_DIR, isValidName, type Area } from './names.js';
import { overlayFileSource } from './overlay.js';
import { decodePolicyText } from './validate.js';
import { parseFileName } from './policy-cli.js';

export interface EditorArgs {
  /** `[include/]NAME`; default 30-user. */
  name: string | undefined;
  systemInfo: string | undefined;
  qubesdInternalSocket: string | undefined;
  qrexecClientVm: string | undefined;
}

export interface EditorIo extends Io {
  /** Ask and read one line of the answer (null: end of input). */
  ask(prompt: string): string | null;
}

const NAME = 'qubes-policy-editor';
/** Changed requests shown per deciding rule (the counts cover all). */
const SHOWN_PER_RULE = 10;

/** `$VISUAL`, else `$EDITOR`, else vi, split into words (no shell: `code --wait` works, `$(...)` does not run). */
export function editorCommand(env: NodeJS.ProcessEnv): string[] {
  const words = (env['VISUAL'] || env['EDITOR'] || 'vi').trim().split(/\s+/);
  return words[0] === '' ? ['vi'] : words;
}

/** The policy as the edit sees it: where it is read from, and the file being edited in it. */
interface View {
  fs: FileSource;
  dirs: string[];
  policyDir: string;
  legacyDir: string;
  file: string;
  notes: string[];
}

/** In dom0: the real directories. */
function dom0View(env: NodeJS.ProcessEnv, area: Area, name: string): View {
  // where the service this editor calls reads and writes
  const { policyDir, legacyDir } = adminContext(env);
  return {
    fs: nodeFileSource,
    dirs: [RUNTIME_POLICY_PATH, policyDir],
    policyDir,
    legacyDir,
    file: fileIn(policyDir, area, name),
    notes: [],
  };
}

function fileIn(policyDir: string, area: Area, name: string): string {
  return area === 'include' ? path.join(policyDir, INCLUDE_DIR, name) : path.join(policyDir, name + POLICY_SUFFIX);
}

/** From a qube: every file the API lists, in memory where dom0 keeps them; null if the API refuses that. */
async function qubeView(client: PolicyClient, area: Area, name: string): Promise<View | null> {
  const policyDir = DEFAULT_POLICY_DIR;
  const legacyDir = DEFAULT_LEGACY_PATH;
  const files: Record<string, string> = {};
  try {
    for (const a of ['policy', 'include'] as const)
      for (const n of await client.list(a)) {
        const got = await client.get(a, n);
        if (got !== null) files[fileIn(policyDir, a, n)] = got.content.toString('utf8');
      }
  } catch (err) {
    callProblem(err);
    return null;
  }
  return {
    fs: memoryFileSource(files, [policyDir, legacyDir]),
    dirs: [policyDir],
    policyDir,
    legacyDir,
    file: fileIn(policyDir, area, name),
    notes: ['(from a qube: R4.0 files of !compat-4.0 and the runtime directory are not visible, and are left out)'],
  };
}

function loadWith(view: View, fs: FileSource): Policy {
  const loader = new PolicyLoader({ fs, legacyPath: view.legacyDir });
  loader.loadDirs(view.dirs);
  const { rules, errors, ...rest } = loader.result;
  return new Policy(rules, errors, rest);
}

function findingKey(d: Diagnostic): string {
  return JSON.stringify([d.file, d.line, d.column, d.rule, d.message]);
}

interface Review {
  /** Lines to show: findings, then what the edit changes. */
  report: string;
  /** The edit cannot be saved (errors). */
  blocked: boolean;
}

/**
 * Lint and diff an edit. Findings shown: every error, everything in the
 * edited file, and elsewhere only what the edit brought (a rule it
 * shadows). Then the requests whose decision the edit changes.
 */
function review(view: View, text: string, si: SystemInfo | null): Review {
  const after = overlayFileSource(view.fs, [[view.file, text]]);
  const lintOf = (fs: FileSource) =>
    lint([{ kind: 'dirs', dirs: view.dirs }], { fs, legacyPath: view.legacyDir, legacyDefault: false, systemInfo: si, cwd: view.policyDir }).diagnostics;
  const known = new Set(lintOf(view.fs).map(findingKey));
  const shownFile = path.relative(view.policyDir, view.file);
  const findings = lintOf(after).filter((d) => d.severity === 'error' || d.file === shownFile || !known.has(findingKey(d)));
  const out: string[] = findings.map(textLine);
  const blocked = findings.some((d) => d.severity === 'error');
  if (blocked) out.push('the policy would not load with this edit: it cannot be saved');
  else if (si === null) out.push('no system info (give --system-info FILE): cannot show what this edit changes');
  else {
    const before = loadWith(view, view.fs);
    if (before.error) out.push(`the policy does not load now (${before.error.describe()}): nothing to compare with`);
    else {
      const changes = diffPolicies(before, loadWith(view, after), si).changes;
      out.push(changes.length ? 'what this edit changes:\n' + diffText(changes, { perGroup: SHOWN_PER_RULE }).trimEnd() : 'this edit changes no decision');
    }
  }
  out.push(...view.notes);
  return { report: out.join('\n') + '\n', blocked };
}

/** The answer to "(e)dit again, (s)ave, (q)uit", asked until it is one of them. */
function choose(io: EditorIo, canSave: boolean): 'e' | 's' | 'q' {
  const prompt = canSave ? '(e)dit again, (s)ave, (q)uit? ' : '(e)dit again, (q)uit without saving? ';
  for (;;) {
    const a = io.ask(prompt);
    if (a === null) return 'q';
    const c = a.trim().toLowerCase();
    if (c === 'e' || c === 'q' || (canSave && c === 's')) return c;
  }
}

async function systemInfoFor(args: EditorArgs, io: EditorIo, where: 'dom0' | 'qube'): Promise<SystemInfo | null> {
  // from a qube there is no qubesd to ask: only a file given
  if (where === 'qube' && args.systemInfo === undefined && !io.env['QREXEC_POLICY_SYSTEM_INFO']) return null;
  try {
    return await obtainSystemInfo({ systemInfo: args.systemInfo, qubesdInternalSocket: args.qubesdInternalSocket }, io.env);
  } catch (err) {
    expected(err, SystemInfoError);
    io.err(`${NAME}: ${err.message}; cannot show what an edit changes\n`);
    return null;
  }
}

export async function runEditor(args: EditorArgs, io: EditorIo): Promise<number> {
  const f = parseFileName(args.name ?? '30-user');
  if (f.name === '' || !isValidName(f.name)) {
    io.err(`${NAME}: invalid file name ${JSON.stringify(args.name)}: [include/]NAME with lower-case letters, digits, _ and -\n`);
    return 2;
  }
  const shown = displayName(f);
  const client = new PolicyClient(chooseTransport(args.qrexecClientVm, io.env));
  let got: { token: string; content: Buffer } | null;
  try {
    got = await client.get(f.area, f.name);
  } catch (err) {
    io.err(`${NAME}: cannot get ${shown}: ${describeProblem(callProblem(err))}\n`);
    return 1;
  }
  const token = got?.token ?? 'new';
  const original = got?.content ?? Buffer.alloc(0);

  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qubes-policy-editor-'));
  const tmp = path.join(tmpDir, f.area === 'include' ? `include-${f.name}` : f.name + POLICY_SUFFIX);
  fs.writeFileSync(tmp, original, { mode: 0o600 });
  const keep = (why: string, status: number) => {
    io.err(`${NAME}: ${why}; your text is in ${tmp}\n`);
    return status;
  };

  const view = client.transport.where === 'dom0' ? dom0View(io.env, f.area, f.name) : await qubeView(client, f.area, f.name);
  const si = view === null ? null : await systemInfoFor(args, io, client.transport.where);
  const editor = editorCommand(io.env);
  for (;;) {
    const run = spawnSync(editor[0]!, [...editor.slice(1), tmp], { stdio: 'inherit', env: io.env });
    if (run.error) return keep(`cannot run the editor ${editor[0]}: ${describeIo(run.error)}`, 1);
    if (run.status !== 0) return keep(`the editor exited with ${run.status === null ? `signal ${run.signal}` : `status ${run.status}`}`, 1);
    const bytes = fs.readFileSync(tmp);
    if (bytes.equals(original)) {
      io.out(`${shown}: no changes\n`);
      fs.rmSync(tmpDir, { recursive: true, force: true });
      return 0;
    }
    const decoded = decodePolicyText(bytes);
    let r: Review;
    if ('badLine' in decoded) r = { report: `${tmp}:${decoded.badLine}: not valid UTF-8\n`, blocked: true };
    else if (view === null)
      r = { report: '(the policy cannot be read from here: the service will check the edit when it is saved)\n', blocked: false };
    else r = review(view, decoded.text, si);
    io.out(r.report);
    const answer = choose(io, !r.blocked);
    if (answer === 'e') continue;
    if (answer === 'q') return keep('not saved', 0);
    try {
      await client.replace(f.area, f.name, bytes, token);
    } catch (err) {
      return keep(`not saved: ${describeProblem(callProblem(err))}`, 1);
    }
    io.out(`${shown} saved\n`);
    fs.rmSync(tmpDir, { recursive: true, force: true });
    return 0;
  }
}

/**
 * One line from a descriptor, read byte by byte, so that nothing past the
 * line is taken from a terminal or pipe the editor shares; null at the end.
 */
export function readLine(fd: number): string | null {
  const bytes: number[] = [];
  const b = Buffer.alloc(1);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(fd, b, 0, 1, null);
    } catch (err) {
      /* c8 ignore next 4 -- only a non-blocking stdin has nothing yet (a terminal or a pipe blocks) */
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      throw err;
    }
    if (n === 0) return bytes.length ? Buffer.from(bytes).toString('utf8') : null;
    if (b[0] === 0x0a) return Buffer.from(bytes).toString('utf8');
    bytes.push(b[0]!);
  }
}

/** Questions on stderr (stdout is the report), answers from a descriptor (standard input: 0). */
export function terminalAsk(err: (s: string) => void, fd = 0): (prompt: string) => string | null {
  return (prompt) => {
    err(prompt);
    return readLine(fd);
  };
}

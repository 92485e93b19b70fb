/**
 * Generated trees as the code under test reads them: an in-memory file
 * source (with raw bytes where a case needs invalid UTF-8), a loaded
 * Policy, or real files in a temporary directory for the front ends.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeUtf8, memoryFileSource, type FileSource } from '../../../src/parser/file-source.js';
import { PolicyLoader } from '../../../src/parser/loader.js';
import { Policy } from '../../../src/policy/policy.js';
import { MEM_DIRS, renderTree, type Dirs, type PolicyTree, type Rendered } from '../gen/policy.js';

/** Files whose content is bytes (e.g. not UTF-8) rather than text. */
export type ByteFiles = Record<string, Uint8Array>;

/** An in-memory file source over rendered files; `bytes` entries are decoded (strictly) on read. */
export function fileSource(r: Rendered, bytes: ByteFiles = {}): FileSource {
  const placeholders: Record<string, string> = {};
  for (const p of Object.keys(bytes)) placeholders[p] = '';
  const base = memoryFileSource({ ...r.files, ...placeholders }, r.dirs);
  return { ...base, read: (f) => (Object.hasOwn(bytes, f) ? decodeUtf8(bytes[f]!, f) : base.read(f)) };
}

/** Load rendered files (in MEM_DIRS) as the evaluator sees them. */
export function loadRendered(r: Rendered, bytes: ByteFiles = {}, dirs: Dirs = MEM_DIRS): Policy {
  const loader = new PolicyLoader({ fs: fileSource(r, bytes), legacyPath: dirs.legacy });
  loader.loadDirs([dirs.policy]);
  const { rules, errors, ...rest } = loader.result;
  return new Policy(rules, errors, rest);
}

export function loadTree(tree: PolicyTree): Policy {
  return loadRendered(renderTree(tree));
}

/** A temporary directory for one case; `remove()` deletes it. */
export interface DiskTree {
  root: string;
  dirs: Dirs;
  si: string;
  rendered: Rendered;
  remove(): void;
}

let scratch: string | null = null;
/** One directory per process for every case (removed at exit), short enough for unix socket paths. */
function scratchDir(): string {
  if (scratch === null) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qpf-'));
    scratch = dir;
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return scratch;
}

let caseNo = 0;
/** A fresh directory for one input (under the per-process one). */
export function scratchCaseDir(): string {
  const dir = path.join(scratchDir(), String(caseNo++));
  fs.mkdirSync(dir);
  return dir;
}

/** Write a tree and a system-info document (JSON value or raw text) to disk. */
export function writeTree(tree: PolicyTree, systemInfo: unknown): DiskTree {
  const root = scratchCaseDir();
  const dirs: Dirs = { policy: path.join(root, 'policy.d'), legacy: path.join(root, 'legacy') };
  const rendered = renderTree(tree, dirs);
  for (const d of rendered.dirs) fs.mkdirSync(d, { recursive: true });
  for (const [f, text] of Object.entries(rendered.files)) {
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, text);
  }
  const si = path.join(root, 'si.json');
  fs.writeFileSync(si, typeof systemInfo === 'string' ? systemInfo : JSON.stringify(systemInfo));
  return { root, dirs, si, rendered, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}

/**
 * One differential case: a system, a policy laid out on disk (files,
 * directories and symbolic links, so that includes are resolved by the
 * kernel on both sides), whether to evaluate with R4.0 semantics
 * (`--legacy`), and the requests. Both implementations read the same bytes
 * from the same paths.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { renderTree, type Dirs, type PolicyTree, type Rendered } from '../../test/property/gen/policy.js';
import type { Req } from '../../test/property/gen/request.js';
import { scratchCaseDir, type DiskTree } from '../../test/property/lib/tree.js';
import type { Domains } from '../gen/system.js';

/** Where a case lives: the root and, under it, the policy and R4.0 directories. */
export interface Place extends Dirs {
  root: string;
}

export interface Layout {
  /** File contents by absolute path. */
  files: Record<string, string>;
  /** Directories that exist even when empty. */
  dirs: string[];
  /** Symbolic links: [where, what the link says]. */
  links: Array<[string, string]>;
}

export interface DiffCase {
  area: string;
  system: { domains: Domains };
  /** The policy files for a place on disk. */
  layout(at: Place): Layout;
  /** `--legacy`: R4.0 semantics, one legacy file per service. */
  legacyMode: boolean;
  reqs: Req[];
}

/** A PolicyTree (test/property/gen/policy.ts) as a layout. */
export function treeLayout(tree: PolicyTree): (at: Place) => Layout {
  return (at) => {
    const r: Rendered = renderTree(tree, at);
    return { files: r.files, dirs: r.dirs, links: [] };
  };
}

/** A case on disk, in the shape the property front-end helpers take. */
export function writeCase(c: DiffCase): DiskTree {
  const root = scratchCaseDir();
  const at: Place = { root, policy: path.join(root, 'policy.d'), legacy: path.join(root, 'legacy') };
  const layout = c.layout(at);
  fs.mkdirSync(at.policy, { recursive: true });
  for (const d of layout.dirs) fs.mkdirSync(d, { recursive: true });
  for (const [f, text] of Object.entries(layout.files)) {
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, text);
  }
  for (const [where, what] of layout.links) {
    fs.mkdirSync(path.dirname(where), { recursive: true });
    fs.symlinkSync(what, where);
  }
  const si = path.join(root, 'si.json');
  fs.writeFileSync(si, JSON.stringify(c.system));
  return {
    root,
    dirs: { policy: at.policy, legacy: at.legacy },
    si,
    rendered: { files: layout.files, dirs: layout.dirs, top: [], formats: {} },
    remove: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

/** The case as a person reads it: files relative to the case root, system info, requests. */
export function describeDiffCase(c: DiffCase): string {
  const at: Place = { root: '/CASE', policy: '/CASE/policy.d', legacy: '/CASE/legacy' };
  const l = c.layout(at);
  const rel = (p: string) => path.posix.relative('/CASE', p) || '.';
  const files = Object.fromEntries(Object.entries(l.files).map(([f, t]) => [rel(f), t]));
  const links = l.links.map(([w, t]) => `${rel(w)} -> ${t}`);
  const extraDirs = l.dirs.map(rel).filter((d) => d !== 'policy.d');
  return JSON.stringify(
    {
      area: c.area,
      ...(c.legacyMode ? { legacy_mode: true } : {}),
      files,
      ...(links.length ? { links } : {}),
      ...(extraDirs.length ? { dirs: extraDirs } : {}),
      system_info: c.system,
      requests: c.reqs.map((q) => ({ source: q.source, target: q.target, service: q.service, ...(q.requestedSource !== null ? { requested_source: q.requestedSource } : {}) })),
    },
    null,
    1,
  );
}

/** Attach the readable form to a case, so fast-check prints it for a counterexample. */
export function printable(c: DiffCase): DiffCase {
  return Object.defineProperty(c, fc.toStringMethod, { value: () => describeDiffCase(c), enumerable: false });
}

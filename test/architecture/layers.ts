/**
 * The import-order checker behind test/architecture/layers.test.ts. The
 * order itself is written once, in ARCHITECTURE.md's `layers` block: one
 * line per layer, lowest first, naming the directories (`parser/`) and
 * files (`log.ts`) of src/ that belong to it. A module imports only from
 * its own layer and from the layers listed before it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Layer {
  name: string;
  /** `dir/` for a directory of src/, `file.ts` for a file at its top. */
  members: string[];
}

/** The layers of the first fenced block marked `layers` in `markdown`, lowest first. */
export function parseLayers(markdown: string): Layer[] {
  const m = /^```layers\n([\s\S]*?)^```/m.exec(markdown);
  if (m === null) throw new Error('no ```layers block');
  return m[1]!
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [name, ...members] = l.trim().split(/\s+/);
      return { name: name!, members };
    });
}

/** The place of a src/-relative path in the order, or -1 when no layer claims it. */
export function layerIndex(file: string, layers: readonly Layer[]): number {
  const top = file.includes('/') ? file.slice(0, file.indexOf('/') + 1) : file;
  return layers.findIndex((l) => l.members.includes(top));
}

/** Every module a TypeScript source names: `import … from`, `export … from`, `import '…'` and `import('…')`. */
export function importsOf(source: string): string[] {
  const out: string[] = [];
  const re = /^\s*(?:import|export)\s(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const m of source.matchAll(re)) out.push((m[1] ?? m[2])!);
  return out;
}

/** src/-relative module paths → the src/-relative modules each imports (our own only). */
export type ImportGraph = Map<string, string[]>;

/** Read the import graph of a source tree (`.ts` files; `.js` specifiers name them). */
export function readGraph(srcDir: string): ImportGraph {
  const graph: ImportGraph = new Map();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) {
        const from = path.relative(srcDir, p);
        const targets = importsOf(fs.readFileSync(p, 'utf8'))
          .filter((s) => s.startsWith('.'))
          .map((s) => path.posix.normalize(path.posix.join(path.posix.dirname(from), s)).replace(/\.js$/, '.ts'));
        graph.set(from, targets);
      }
    }
  };
  walk(srcDir);
  return graph;
}

export interface Violation {
  from: string;
  to: string;
  /** Why: `parser → cli (upward)`, or a file no layer claims. */
  why: string;
}

/** Every import that points against the order, and every module no layer claims. */
export function checkLayers(graph: ImportGraph, layers: readonly Layer[]): Violation[] {
  const out: Violation[] = [];
  for (const [from, targets] of graph) {
    const a = layerIndex(from, layers);
    if (a < 0) {
      out.push({ from, to: '', why: 'no layer in ARCHITECTURE.md claims this file' });
      continue;
    }
    for (const to of targets) {
      const b = layerIndex(to, layers);
      if (b < 0) out.push({ from, to, why: 'no layer claims the imported file' });
      else if (b > a) out.push({ from, to, why: `${layers[a]!.name} imports ${layers[b]!.name}, a layer listed after it` });
    }
  }
  return out;
}

/**
 * Imports point down the layer order of ARCHITECTURE.md, and the check
 * would notice if one did not: it is run on the real tree, on the real tree
 * with an upward import added, and on small graphs built by hand.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkLayers, importsOf, layerIndex, parseLayers, readGraph, type ImportGraph } from './layers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const layers = parseLayers(fs.readFileSync(path.join(root, 'ARCHITECTURE.md'), 'utf8'));
const graph = readGraph(path.join(root, 'src'));

t.test('ARCHITECTURE.md declares the order parser → policy → render → exec/io → tools → cli → bin', async (t) => {
  const names = layers.map((l) => l.name);
  for (const [a, b] of [['parser', 'policy'], ['policy', 'render'], ['render', 'exec/io'], ['exec/io', 'tools'], ['tools', 'cli'], ['cli', 'bin']])
    t.ok(names.indexOf(a!) >= 0 && names.indexOf(a!) < names.indexOf(b!), `${a} before ${b}`);
});

t.test('every module of src/ has a layer, and every import points down the order', async (t) => {
  t.ok(graph.size > 100, `read ${graph.size} modules`);
  t.ok([...graph.values()].some((targets) => targets.length > 0), 'imports were found');
  t.same(checkLayers(graph, layers), []);
});

t.test('an upward import added to the real tree is caught, naming both ends and both layers', async (t) => {
  const injected: ImportGraph = new Map(graph);
  injected.set('policy/evaluate.ts', [...graph.get('policy/evaluate.ts')!, 'cli/umbrella.ts']);
  t.same(checkLayers(injected, layers), [{ from: 'policy/evaluate.ts', to: 'cli/umbrella.ts', why: 'policy imports cli, a layer listed after it' }]);
});

t.test('the checker on graphs built by hand', async (t) => {
  const order = parseLayers('text\n```layers\nlow  a/ one.ts\nhigh b/\n```\nmore text\n');
  t.same(order, [
    { name: 'low', members: ['a/', 'one.ts'] },
    { name: 'high', members: ['b/'] },
  ]);
  t.equal(layerIndex('a/x/y.ts', order), 0);
  t.equal(layerIndex('one.ts', order), 0);
  t.equal(layerIndex('b/z.ts', order), 1);
  t.equal(layerIndex('c/z.ts', order), -1);
  const g: ImportGraph = new Map([
    ['b/top.ts', ['a/x.ts', 'one.ts', 'b/other.ts']],
    ['a/x.ts', ['one.ts', 'a/y.ts']],
  ]);
  t.same(checkLayers(g, order), [], 'down and sideways are fine');
  g.set('a/y.ts', ['b/top.ts']);
  g.set('c/stray.ts', []);
  g.set('one.ts', ['nowhere/q.ts']);
  t.same(checkLayers(g, order), [
    { from: 'a/y.ts', to: 'b/top.ts', why: 'low imports high, a layer listed after it' },
    { from: 'c/stray.ts', to: '', why: 'no layer in ARCHITECTURE.md claims this file' },
    { from: 'one.ts', to: 'nowhere/q.ts', why: 'no layer claims the imported file' },
  ]);
  t.throws(() => parseLayers('no block here'), { message: 'no ```layers block' });
});

t.test('importsOf finds every form an import takes', async (t) => {
  const source = [
    "import * as fs from 'node:fs';",
    "import type { A } from './a.js';",
    'import {',
    '  B,',
    '  C,',
    "} from '../b.js';",
    "import './side-effect.js';",
    "export { D } from './d.js';",
    "export * from './e.js';",
    "  const { f } = await import('../f.js');",
    "type W = typeof import('winston');",
    "const s = 'import x from \"./not-a-module.js\"';",
  ].join('\n');
  t.same(importsOf(source), ['node:fs', './a.js', '../b.js', './side-effect.js', './d.js', './e.js', '../f.js', 'winston']);
});

/**
 * Graph output: DOT as qrexec-policy-graph writes it, or JSON. Both drop
 * repeated edges. A graph of a whole system has millions of edges, so
 * edges are remembered as numbers (names, labels and rules get small ids),
 * only the current service's edges are remembered when labels tell
 * services apart, and a line is built only when it is written.
 */
import { actionText, type Rule } from '../parser/rule.js';
import type { SystemInfo } from '../policy/system-info.js';
import type { GraphEdge } from './collect.js';
import { Chunked } from './chunked.js';
import { nodeInfo } from './nodes.js';

export interface RenderOptions {
  /** No service names on edges; equal edges of different services merge. */
  skipLabels: boolean;
  /** Label edges with SERVICE+ARG (the rule's argument) and the deciding rule's action text. */
  fullOutput: boolean;
}

/** A quoted DOT string. */
export function dotString(s: string): string {
  return '"' + s.replace(/[\\"]/g, '\\$&').replace(/\r?\n|\r/g, '\\n') + '"';
}

/** Small numbers for values, in order of first use. */
class Ids<K> {
  private readonly ids = new Map<K, number>();

  id(k: K): number {
    let id = this.ids.get(k);
    if (id === undefined) this.ids.set(k, (id = this.ids.size));
    return id;
  }
}

/** A function remembering its results. */
function cached<K, V>(f: (k: K) => V): (k: K) => V {
  const m = new Map<K, V>();
  return (k) => {
    let v = m.get(k);
    if (v === undefined) m.set(k, (v = f(k)));
    return v;
  };
}

/** Remembers what was written: nodes for the whole graph, edges per service unless labels are skipped. */
class Seen {
  private readonly names = new Ids<string>();
  private readonly nodes = new Set<number>();
  private edges = new Map<number, Set<number>>();
  private service: string | null = null;

  constructor(private readonly perService: boolean) {}

  node(name: string): boolean {
    const id = this.names.id(name);
    if (this.nodes.has(id)) return false;
    this.nodes.add(id);
    return true;
  }

  /** Is this edge new? `extra` numbers whatever else tells two edges apart (label, rule). */
  edge(e: GraphEdge, extra: number): boolean {
    if (this.perService && e.service !== this.service) {
      this.edges = new Map();
      this.service = e.service;
    }
    let set = this.edges.get(extra);
    if (set === undefined) this.edges.set(extra, (set = new Set()));
    const key = (this.names.id(e.target) * 2 ** 24 + this.names.id(e.source)) * 2 + (e.action === 'ask' ? 1 : 0);
    if (set.has(key)) return false;
    set.add(key);
    return true;
  }
}

export function renderDot(edges: Iterable<GraphEdge>, si: SystemInfo, opts: RenderOptions, write: (s: string) => void): void {
  const out = new Chunked(write);
  const seen = new Seen(!opts.skipLabels);
  const quote = cached(dotString);
  // what a rule adds to the label: with --full-output its argument (unless labels are skipped) and action
  const suffix = cached((r: Rule) => (opts.fullOutput ? `${opts.skipLabels ? '' : (r.argument ?? '')}\0${actionText(r)}` : ''));
  const suffixes = new Ids<string>();
  out.push('digraph g {\n');
  for (const e of edges) {
    const more = suffix(e.rule);
    if (!seen.edge(e, suffixes.id(more))) continue;
    for (const name of [e.source, e.target]) {
      if (!seen.node(name)) continue;
      const n = nodeInfo(name, si);
      // as qrexec-policy-graph draws a qube: its label's colour, pen width 3
      const attrs = n.keyword ? 'style = dotted' : n.label === null ? '' : `color = ${dotString(n.label.replace('0x', '#'))}, penwidth = 3`;
      out.push(`  ${quote(name)}${attrs ? ` [${attrs}]` : ''};\n`);
    }
    const [arg, action] = more.split('\0') as [string, string | undefined];
    const service = opts.skipLabels ? '' : e.service + arg;
    const label = action === undefined ? service : service ? `${service} ${action}` : action;
    out.push(`  ${quote(e.source)} -> ${quote(e.target)} [label=${quote(label)} color=${e.action === 'ask' ? 'orange' : 'red'}];\n`);
  }
  out.push('}\n');
  out.flush();
}

/**
 * `{"edges": [...], "nodes": [...], "rules": [...]}`, one edge, node or rule
 * per line. An edge names its deciding rule by its place in `rules` (a rule
 * decides thousands of edges: written out on each, a graph of 200 qubes
 * and 1,000 rules was 929 MB). Nodes and rules come in order of first use.
 */
export function renderJson(edges: Iterable<GraphEdge>, si: SystemInfo, opts: RenderOptions, write: (s: string) => void): void {
  const out = new Chunked(write);
  const seen = new Seen(!opts.skipLabels);
  const json = cached((s: string) => JSON.stringify(s));
  const rules = new Ids<Rule>();
  const args = new Ids<string>();
  const ruleList: string[] = [];
  const ruleRef = cached((r: Rule) => {
    ruleList.push(JSON.stringify({ file: r.file, line: r.line, action: actionText(r) }));
    return ruleList.length - 1;
  });
  const nodes: string[] = [];
  out.push('{"edges": [');
  let first = true;
  for (const e of edges) {
    // without labels an edge is its ends and action; with them, also its argument and rule
    if (!seen.edge(e, opts.skipLabels ? 0 : rules.id(e.rule) * 2 ** 20 + args.id(e.argument))) continue;
    for (const name of [e.source, e.target]) if (seen.node(name)) nodes.push(JSON.stringify(nodeInfo(name, si)));
    const ends = `{"source":${json(e.source)},"target":${json(e.target)}`;
    const edge = opts.skipLabels
      ? `${ends},"action":"${e.action}"}`
      : `${ends},"service":${json(e.service)},"argument":${json(e.argument)},"action":"${e.action}","rule":${ruleRef(e.rule)}}`;
    out.push((first ? '\n  ' : ',\n  ') + edge);
    first = false;
  }
  const list = (items: string[]) => items.map((x) => '\n  ' + x).join(',') + (items.length ? '\n' : '');
  out.push((first ? '' : '\n') + '],\n"nodes": [' + list(nodes) + '],\n"rules": [' + list(ruleList) + ']}\n');
  out.flush();
}

/** What a graph shows of a node: a qube (coloured by its label) or a keyword such as `@dispvm`. */
import type { SystemInfo } from '../policy/system-info.js';

export interface NodeInfo {
  name: string;
  /** `@default`, `@dispvm`, `@dispvm:X`, `@adminvm`: drawn dotted. */
  keyword: boolean;
  /** The qube's label (its colour); `null` for keywords, qubes without one and names no qube has. */
  label: string | null;
  /** The qube's type; `null` for keywords and unknown names. */
  type: string | null;
}

export function nodeInfo(name: string, si: SystemInfo): NodeInfo {
  if (name.startsWith('@')) return { name, keyword: true, label: null, type: null };
  const q = si.lookup(name);
  return { name, keyword: false, label: q?.label || null, type: q?.type ?? null };
}

/**
 * Weighted stacks merged into a tree: each node's value is the time of
 * every stack through it. The flame graph page and Grafana's flame graph
 * frame are drawn from it.
 */
import type { FrameKind, WeightedStack } from './frames.ts';

export interface FlameNode {
  name: string;
  kind: FrameKind | 'root';
  /** Nanoseconds through this node. */
  value: number;
  children: FlameNode[];
}

export function flameTree(stacks: WeightedStack[], rootName = 'all'): FlameNode {
  const root: FlameNode = { name: rootName, kind: 'root', value: 0, children: [] };
  const index = new Map<FlameNode, Map<string, FlameNode>>();
  for (const s of stacks) {
    if (s.ns <= 0) continue;
    let node = root;
    node.value += s.ns;
    for (const f of s.frames) {
      let kids = index.get(node);
      if (!kids) index.set(node, (kids = new Map()));
      const key = `${f.kind}\u0000${f.name}`;
      let child = kids.get(key);
      if (!child) {
        child = { name: f.name, kind: f.kind, value: 0, children: [] };
        kids.set(key, child);
        node.children.push(child);
      }
      child.value += s.ns;
      node = child;
    }
  }
  const sort = (n: FlameNode): void => {
    n.children.sort((a, b) => b.value - a.value);
    n.children.forEach(sort);
  };
  sort(root);
  return root;
}

/**
 * Grafana's flame graph data frame: the tree depth first, each node as one
 * row of (label, level, value, self), values in nanoseconds.
 */
export function grafanaFrame(root: FlameNode): { label: string[]; level: number[]; value: number[]; self: number[] } {
  const out = { label: [] as string[], level: [] as number[], value: [] as number[], self: [] as number[] };
  const walk = (n: FlameNode, level: number): void => {
    out.label.push(n.name);
    out.level.push(level);
    out.value.push(n.value);
    out.self.push(n.value - n.children.reduce((a, c) => a + c.value, 0));
    for (const c of n.children) walk(c, level + 1);
  };
  walk(root, 0);
  return out;
}

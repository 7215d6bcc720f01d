/**
 * Folded stacks, as flamegraph.pl and speedscope read them: one line per
 * distinct stack, frames joined by ';', then the weight (nanoseconds).
 */
import type { WeightedStack } from './frames.ts';

/** Frame names may hold anything: the separators are replaced, nothing is dropped. */
export function foldedName(name: string): string {
  return name.replace(/;/g, ':').replace(/[\r\n]+/g, ' ');
}

export function toFolded(stacks: WeightedStack[]): string {
  const totals = new Map<string, number>();
  for (const s of stacks) {
    const key = s.frames.map((f) => foldedName(f.name)).join(';');
    totals.set(key, (totals.get(key) ?? 0) + s.ns);
  }
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .map(([key, ns]) => `${key} ${Math.round(ns)}`)
    .join('\n')
    .concat(totals.size ? '\n' : '');
}

/**
 * The fused profile in a few numbers, for result.json and the verdict: how
 * much of the requests' wall time was JavaScript and in which functions,
 * and which backend operations they waited on.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ProfileSummarySchema, type ProfileSummaryResult } from '../report/result-schema.ts';
import { round } from '../util/round.ts';
import type { CpuSample } from './fuse.ts';
import type { RouteTotals } from './route-stats.ts';

const TOP_FUNCTIONS = 10;
const ms = (ns: number) => round(ns / 1e6);

export function profileSummary(samples: CpuSample[], routes: RouteTotals[], files: string[], notes: string[]): ProfileSummaryResult {
  let cpuNs = 0;
  const self = new Map<string, { name: string; file: string; line: number; ns: number }>();
  for (const s of samples) {
    const leaf = s.stack.at(-1);
    if (s.route === undefined || !leaf) continue;
    cpuNs += s.wallNs;
    const key = `${leaf.name}\u0000${leaf.file ?? ''}\u0000${leaf.line ?? 0}`;
    const entry = self.get(key) ?? { name: leaf.name, file: leaf.file ?? '', line: leaf.line ?? 0, ns: 0 };
    entry.ns += s.wallNs;
    self.set(key, entry);
  }
  const operations = new Map<string, { count: number; ns: number }>();
  for (const r of routes) {
    for (const [name, b] of r.backends) {
      const o = operations.get(name) ?? { count: 0, ns: 0 };
      o.count += b.count;
      o.ns += b.ns;
      operations.set(name, o);
    }
  }
  return {
    wall_ms: ms(routes.reduce((a, r) => a + r.wallNs, 0)),
    cpu_ms: ms(cpuNs),
    top_functions: [...self.values()]
      .sort((a, b) => b.ns - a.ns)
      .slice(0, TOP_FUNCTIONS)
      .map((f) => ({ name: f.name, file: f.file, line: f.line, self_ms: ms(f.ns) })),
    operations: [...operations]
      .sort((a, b) => b[1].ns - a[1].ns)
      .map(([operation, o]) => ({ operation, count: o.count, total_ms: ms(o.ns), mean_ms: o.count ? ms(o.ns / o.count) : 0 })),
    files,
    notes,
  };
}

const checker = TypeCompiler.Compile(ProfileSummarySchema);

/**
 * The summary another process (the embedded target) wrote in `dir`, checked
 * against its schema; null when there is none. A malformed one is an error:
 * it names the first field that is wrong.
 */
export function readProfileSummary(dir: string, file = 'profile-summary.json'): ProfileSummaryResult | null {
  const path = join(dir, file);
  if (!existsSync(path)) return null;
  const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!checker.Check(value)) {
    const first = checker.Errors(value).First();
    throw new Error(`${path}: ${first ? `${first.path || '/'} ${first.message}` : 'does not match its schema'}`);
  }
  return value;
}

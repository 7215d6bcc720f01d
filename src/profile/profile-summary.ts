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
import type { Frame } from './frames.ts';
import type { CpuSample } from './fuse.ts';
import type { RouteTotals } from './route-stats.ts';

/** Where a profiled process writes its summary, beside its other profile files. */
export const PROFILE_SUMMARY_FILE = 'profile-summary.json';

const TOP_FUNCTIONS = 10;
const ms = (ns: number) => round(ns / 1e6);

/** Code the service's authors wrote: a file, not Node's own, not a dependency. */
const isApplication = (f: Frame) => !!f.file && !f.file.startsWith('node:') && !f.file.includes('/node_modules/');

/** The innermost frame of the application's own code, else the leaf: a busy loop's time goes to the loop's function, not to the builtin it calls. */
export function applicationFrame(stack: Frame[]): Frame | undefined {
  for (let i = stack.length - 1; i >= 0; i--) if (isApplication(stack[i]!)) return stack[i];
  return stack.at(-1);
}

export function profileSummary(samples: CpuSample[], routes: RouteTotals[], files: string[], notes: string[]): ProfileSummaryResult {
  let cpuNs = 0;
  const byFunction = new Map<string, { name: string; file: string; line: number; ns: number }>();
  for (const s of samples) {
    const f = applicationFrame(s.stack);
    if (s.route === undefined || !f) continue;
    cpuNs += s.cpuNs;
    const key = `${f.name}\u0000${f.file ?? ''}\u0000${f.line ?? 0}`;
    const entry = byFunction.get(key) ?? { name: f.name, file: f.file ?? '', line: f.line ?? 0, ns: 0 };
    entry.ns += s.cpuNs;
    byFunction.set(key, entry);
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
    requests: routes.reduce((a, r) => a + r.count, 0),
    wall_ms: ms(routes.reduce((a, r) => a + r.wallNs, 0)),
    cpu_ms: ms(cpuNs),
    top_functions: [...byFunction.values()]
      .sort((a, b) => b.ns - a.ns)
      .slice(0, TOP_FUNCTIONS)
      .map((f) => ({ name: f.name, file: f.file, line: f.line, time_ms: ms(f.ns) })),
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
export function readProfileSummary(dir: string): ProfileSummaryResult | null {
  const path = join(dir, PROFILE_SUMMARY_FILE);
  if (!existsSync(path)) return null;
  const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!checker.Check(value)) {
    const first = checker.Errors(value).First();
    throw new Error(`${path}: ${first ? `${first.path || '/'} ${first.message}` : 'does not match its schema'}`);
  }
  return value;
}

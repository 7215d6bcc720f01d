/**
 * Writes a process's fused profile at its end: profile.pb.gz (pprof),
 * stacks.folded, flame.html (views: the whole run, each route, each of the
 * slowest requests), flame.json (Grafana's flame graph frame) and
 * heap.pb.gz. Says which parts are missing rather than drawing less
 * without a word.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { toFolded } from './folded.ts';
import { flameHtml, type FlameView } from './flame-html.ts';
import { flameTree, grafanaFrame } from './flame-tree.ts';
import type { WeightedStack } from './frames.ts';
import { fuse } from './fuse.ts';
import { encodePprofGz, toPprof } from './pprof-encode.ts';
import { PROFILE_SUMMARY_FILE, profileSummary } from './profile-summary.ts';
import type { ProfilerResult } from './profiler.ts';
import type { RouteStats, RouteTotals } from './route-stats.ts';

/** Routes drawn as views of their own, busiest first. */
const ROUTE_VIEWS = 10;

const ms = (ns: number) => `${(ns / 1e6).toFixed(1)} ms`;

/** The whole run, each busy route (rooted at the route), and each of the slowest requests. */
function views(stacks: WeightedStack[], routes: RouteTotals[], input: ProfileInput): FlameView[] {
  const out: FlameView[] = [{ label: 'whole run', stacks }];
  for (const r of routes.slice(0, ROUTE_VIEWS)) {
    out.push({
      label: `route ${r.route} (${r.count} requests)`,
      stacks: stacks.filter((s) => s.frames[1]?.name === r.route).map((s) => ({ ...s, frames: s.frames.slice(1) })),
    });
  }
  input.stats.slowest().forEach((v, i) => {
    const samples = input.result.samples.filter((s) => s.spanId === v.spanId);
    out.push({ label: `slowest #${i + 1}: ${v.route}, ${ms(v.wallNs)}, trace ${v.traceId}`, stacks: fuse({ service: input.service, samples, routes: [v] }) });
  });
  return out;
}

export interface ProfileInput {
  service: string;
  result: ProfilerResult;
  stats: RouteStats;
  /** Why kernel stages are off, or null when they are on. */
  kernelOff: string | null;
}

export interface WrittenProfiles {
  files: string[];
  /** One line each: what the profile lacks and why. */
  notes: string[];
}

export function writeProfiles(dir: string, input: ProfileInput): WrittenProfiles {
  const routes = input.stats.routes();
  const stacks = fuse({ service: input.service, samples: input.result.samples, routes });
  const notes: string[] = [];
  if (routes.length === 0) notes.push('no request finished while profiling: there are no routes to show');
  if (!input.result.samples.some((s) => s.route !== undefined)) notes.push('no CPU sample fell inside a request: the profile has no JavaScript frames');
  if (input.kernelOff) notes.push(`no [kernel] frames: ${input.kernelOff}`);
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, data: string | Uint8Array) => {
    writeFileSync(join(dir, name), data);
    files.push(join(dir, name));
  };
  if (stacks.length > 0) {
    write('profile.pb.gz', encodePprofGz(toPprof(stacks, { timeNanos: input.result.startNanos, durationNanos: input.result.durationNanos })));
    write('stacks.folded', toFolded(stacks));
    write('flame.json', `${JSON.stringify(grafanaFrame(flameTree(stacks, input.service)))}\n`);
  }
  // Drawn even when empty: the page then says that there was nothing to draw.
  write('flame.html', flameHtml({ title: `${input.service}: where request time went`, views: views(stacks, routes, input), notes }));
  if (input.result.heap) write('heap.pb.gz', gzipSync(input.result.heap.encode()));
  const names = files.map((f) => f.slice(dir.length + 1));
  write(PROFILE_SUMMARY_FILE, `${JSON.stringify(profileSummary(input.result.samples, routes, names, notes), null, 2)}\n`);
  return { files, notes };
}

/**
 * Writes a process's fused profile at its end: profile.pb.gz (pprof),
 * stacks.folded, and heap.pb.gz. Says which parts are missing rather than
 * drawing less without a word.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { toFolded } from './folded.ts';
import { fuse } from './fuse.ts';
import { encodePprofGz, toPprof } from './pprof-encode.ts';
import type { ProfilerResult } from './profiler.ts';
import type { RouteStats } from './route-stats.ts';

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
  }
  if (input.result.heap) write('heap.pb.gz', gzipSync(input.result.heap.encode()));
  return { files, notes };
}

/** Assembles result.json from what a run measured, and checks it against its schema. */
import { FormatRegistry } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { LoadResult } from '../load/generator.ts';
import type { Stage } from '../kernel/layout.ts';
import type { StageSummary } from '../kernel/stage-summary.ts';
import { ResultSchema, type CloudResult, type HostResult, type KernelResult, type ProfileSummaryResult, type RunResult } from './result-schema.ts';
import { judge } from './verdict.ts';
import { round } from '../util/round.ts';

// TypeBox checks no format it was not taught; JSON Schema readers know date-time.
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (v) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v) && !Number.isNaN(Date.parse(v)));
}
const checker = TypeCompiler.Compile(ResultSchema);

export interface RunFacts {
  scenario: string;
  startedAt: Date;
  endedAt: Date;
  target: { url: string; embedded: boolean };
  pacing: { mode: 'open' | 'closed'; rate: number | null; connections: number };
  warmupMs: number;
  load: LoadResult;
  kernel: KernelResult;
  host: HostResult;
  cloud: CloudResult;
  /** The embedded target's fused profile in numbers, when it was profiled. */
  profile?: ProfileSummaryResult | null;
}

export function buildResult(f: RunFacts): RunResult {
  const lat = f.load.latency.summary();
  const durationSec = f.load.measuredMs / 1000;
  const errorRatePct = f.load.requests ? (f.load.errors / f.load.requests) * 100 : 0;
  const kernelStages = f.kernel.available ? (f.kernel.stages as Record<Stage, StageSummary>) : null;
  const result: RunResult = {
    schema_version: 1,
    scenario: f.scenario,
    partial: f.load.interrupted,
    started_at: f.startedAt.toISOString(),
    ended_at: f.endedAt.toISOString(),
    target: f.target,
    pacing: f.pacing,
    duration_sec: round(durationSec),
    warmup_sec: round(f.warmupMs / 1000),
    tps_avg: durationSec > 0 ? round(f.load.requests / durationSec, 1) : 0,
    latency_p50_ms: lat.p50_ms,
    latency_p95_ms: lat.p95_ms,
    latency_p99_ms: lat.p99_ms,
    latency_p999_ms: lat.p999_ms,
    latency_max_ms: lat.max_ms,
    latency_mean_ms: lat.mean_ms,
    latency_histogram: f.load.latency.encode(),
    error_rate_pct: round(errorRatePct),
    requests_total: f.load.requests,
    errors_total: f.load.errors,
    errors_by_kind: f.load.errorKinds,
    generator: {
      cpu_pct: f.load.generator.cpuPct,
      send_lag_p99_ms: f.load.generator.sendLagP99Ms,
      saturated: f.load.generator.saturated,
      ...(f.load.generator.stealPct === null ? {} : { steal_pct: f.load.generator.stealPct }),
    },
    kernel: f.kernel,
    host: f.host,
    cloud: f.cloud,
    ...(f.profile ? { profile: f.profile } : {}),
    verdict: judge({
      latency: lat,
      requests: f.load.requests,
      errorRatePct,
      errorKinds: f.load.errorKinds,
      generator: f.load.generator,
      kernel: kernelStages,
      peers: f.kernel.peers,
      profile: f.profile ?? null,
    }),
  };
  assertValidResult(result);
  return result;
}

/** Throws with the first schema violation: a result that breaks its schema is a bug, never written. */
export function assertValidResult(value: unknown): asserts value is RunResult {
  const first = checker.Errors(value).First();
  if (first) throw new Error(`result does not match its schema at ${first.path || '/'}: ${first.message}`);
}

/**
 * A run's results as Prometheus metrics (prom-client), in base units: the
 * latency histogram in seconds, counters for requests and errors, kernel
 * stage time in seconds.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Latency } from '../load/latency.ts';
import type { RunResult } from '../report/result-schema.ts';

/** 0.25 ms to ~65 s, doubling. */
export const LATENCY_BUCKETS_S = Array.from({ length: 19 }, (_, i) => 0.00025 * 2 ** i);

export function runRegistry(result: RunResult, latency: Latency): Registry {
  const registry = new Registry();
  const scenario = { scenario: result.scenario };

  const duration = new Histogram({
    name: 'wireflame_request_duration_seconds',
    help: 'Request latency from the scheduled send time, measured phase only',
    labelNames: ['scenario'],
    buckets: LATENCY_BUCKETS_S,
    registers: [registry],
  });
  // The HdrHistogram holds every latency; replay its distinct values with their counts.
  latency.forEachRecorded((us, count) => {
    for (let i = 0; i < count; i++) duration.observe(scenario, us / 1e6);
  });

  new Counter({ name: 'wireflame_requests_total', help: 'Requests of the measured phase', labelNames: ['scenario'], registers: [registry] }).inc(
    scenario,
    result.requests_total,
  );
  const errors = new Counter({ name: 'wireflame_errors_total', help: 'Failed requests by kind', labelNames: ['scenario', 'kind'], registers: [registry] });
  for (const [kind, n] of Object.entries(result.errors_by_kind)) errors.inc({ ...scenario, kind }, n);

  const gauge = (name: string, help: string, value: number) =>
    new Gauge({ name, help, labelNames: ['scenario'], registers: [registry] }).set(scenario, value);
  gauge('wireflame_throughput_requests_per_second', 'Average throughput of the measured phase', result.tps_avg);
  gauge('wireflame_run_duration_seconds', 'Length of the measured phase', result.duration_sec);
  gauge('wireflame_run_end_timestamp_seconds', 'When the run ended (Unix time)', Date.parse(result.ended_at) / 1000);
  gauge('wireflame_run_partial', '1 when the run was interrupted', result.partial ? 1 : 0);
  gauge('wireflame_generator_cpu_ratio', 'CPU the load generator used, as a share of one core', result.generator.cpu_pct / 100);

  const stageSeconds = new Counter({
    name: 'wireflame_kernel_stage_seconds_total',
    help: 'Time bytes of the observed processes spent in each kernel stage',
    labelNames: ['scenario', 'stage'],
    registers: [registry],
  });
  const stageWaits = new Counter({
    name: 'wireflame_kernel_stage_waits_total',
    help: 'Waits measured in each kernel stage',
    labelNames: ['scenario', 'stage'],
    registers: [registry],
  });
  for (const [stage, s] of Object.entries(result.kernel.stages)) {
    stageSeconds.inc({ ...scenario, stage }, s.total_ms / 1000);
    stageWaits.inc({ ...scenario, stage }, s.count);
  }

  const share = new Gauge({
    name: 'wireflame_verdict_cause_share_ratio',
    help: 'Share of request time each named cause explains',
    labelNames: ['scenario', 'cause'],
    registers: [registry],
  });
  for (const c of result.verdict.causes) share.set({ ...scenario, cause: c.cause }, c.share_pct / 100);
  return registry;
}

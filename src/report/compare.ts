/**
 * Comparing runs: per metric, the change and whether it exceeds the noise.
 *
 * With several runs per side, the noise is what the runs themselves show: a
 * change counts only when the two sides' ranges do not overlap. With one run
 * per side, each metric gets a 99 % confidence interval from its own sample
 * (order statistics for latency percentiles, from the full latency histogram;
 * Poisson for throughput; Wilson for the error rate), and a change counts
 * when the intervals do not overlap. Either way it must also exceed a stated
 * minimum relative change (default 5 %): one machine's runs vary more than
 * sampling alone says.
 */
import { Latency } from '../load/latency.ts';
import type { RunResult } from './result-schema.ts';
import { round } from '../util/round.ts';

const Z99 = 2.576;

export type MetricName = 'tps_avg' | 'latency_p50_ms' | 'latency_p95_ms' | 'latency_p99_ms' | 'latency_p999_ms' | 'error_rate_pct';

interface MetricSpec {
  name: MetricName;
  better: 'higher' | 'lower';
  /** 99 % interval of one run's value from its own sample. */
  interval(r: RunResult): [number, number];
}

function quantileInterval(r: RunResult, p: number): [number, number] {
  const h = Latency.decode(r.latency_histogram);
  const n = h.count;
  if (n === 0) return [0, 0];
  const spread = Z99 * Math.sqrt(n * p * (1 - p));
  const lo = Math.max(1, Math.floor(n * p - spread));
  const hi = Math.min(n, Math.ceil(n * p + spread));
  return [h.percentileMs((100 * lo) / n), h.percentileMs((100 * hi) / n)];
}

function wilson(errors: number, n: number): [number, number] {
  if (n === 0) return [0, 0];
  const p = errors / n;
  const z2 = Z99 * Z99;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (Z99 * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return [Math.max(0, centre - half) * 100, Math.min(1, centre + half) * 100];
}

export const METRICS: readonly MetricSpec[] = [
  {
    name: 'tps_avg',
    better: 'higher',
    interval: (r) => {
      const half = r.duration_sec > 0 ? (Z99 * Math.sqrt(r.requests_total)) / r.duration_sec : 0;
      return [r.tps_avg - half, r.tps_avg + half];
    },
  },
  { name: 'latency_p50_ms', better: 'lower', interval: (r) => quantileInterval(r, 0.5) },
  { name: 'latency_p95_ms', better: 'lower', interval: (r) => quantileInterval(r, 0.95) },
  { name: 'latency_p99_ms', better: 'lower', interval: (r) => quantileInterval(r, 0.99) },
  { name: 'latency_p999_ms', better: 'lower', interval: (r) => quantileInterval(r, 0.999) },
  { name: 'error_rate_pct', better: 'lower', interval: (r) => wilson(r.errors_total, r.requests_total) },
];

export type Finding = 'regression' | 'improvement' | 'within noise';

export interface MetricComparison {
  metric: MetricName;
  base: number;
  new: number;
  /** (new - base) / base, in %; null when base is 0. */
  delta_pct: number | null;
  finding: Finding;
  /** How the noise was judged. */
  test: 'run ranges' | 'sample intervals';
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The values a side's runs took, or, sample by sample, the union of their intervals. */
function range(runs: RunResult[], spec: MetricSpec, test: MetricComparison['test']): [number, number] {
  if (test === 'run ranges') {
    const values = runs.map((r) => r[spec.name]);
    return [Math.min(...values), Math.max(...values)];
  }
  const intervals = runs.map((r) => spec.interval(r));
  return [Math.min(...intervals.map((i) => i[0])), Math.max(...intervals.map((i) => i[1]))];
}

export function compareRuns(base: RunResult[], next: RunResult[], minChangePct = 5): MetricComparison[] {
  if (base.length === 0 || next.length === 0) throw new Error('compare needs at least one run on each side');
  const test: MetricComparison['test'] = base.length > 1 && next.length > 1 ? 'run ranges' : 'sample intervals';
  return METRICS.map((spec) => {
    const b = mean(base.map((r) => r[spec.name]));
    const n = mean(next.map((r) => r[spec.name]));
    const deltaPct = b === 0 ? null : ((n - b) / b) * 100;
    const [bLo, bHi] = range(base, spec, test);
    const [nLo, nHi] = range(next, spec, test);
    const separated = nLo > bHi || nHi < bLo;
    const bigEnough = deltaPct === null ? n !== b : Math.abs(deltaPct) >= minChangePct;
    let finding: Finding = 'within noise';
    if (separated && bigEnough) {
      const worse = spec.better === 'higher' ? n < b : n > b;
      finding = worse ? 'regression' : 'improvement';
    }
    return {
      metric: spec.name,
      base: round(b),
      new: round(n),
      delta_pct: deltaPct === null ? null : round(deltaPct, 1),
      finding,
      test,
    };
  });
}

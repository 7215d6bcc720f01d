/**
 * Percentiles from the kernel's log2 histograms. A bucket only bounds its
 * values, so a percentile is reported as its bucket's upper bound: "p99 is at
 * most this", never an invented precision.
 */
import type { StageHistogram } from './codec.ts';
import { STAGES, type Stage } from './layout.ts';
import { round } from '../util/round.ts';

export interface StageSummary {
  count: number;
  total_ms: number;
  mean_us: number;
  /** Upper bounds of the log2 buckets that hold the percentile. */
  p50_us: number;
  p99_us: number;
  max_us: number;
}

/** Upper bound, in ns, of log2 slot i: slot 0 holds 0, slot i holds [2^(i-1), 2^i). */
export function slotUpperNs(i: number): number {
  return i === 0 ? 0 : 2 ** i;
}

export function percentileNs(slots: readonly bigint[], p: number): number {
  const total = slots.reduce((a, b) => a + b, 0n);
  if (total === 0n) return 0;
  const rank = BigInt(Math.max(1, Math.ceil((p / 100) * Number(total))));
  let seen = 0n;
  for (let i = 0; i < slots.length; i++) {
    seen += slots[i] ?? 0n;
    if (seen >= rank) return slotUpperNs(i);
  }
  return slotUpperNs(slots.length - 1);
}

export function summarizeStage(h: StageHistogram): StageSummary {
  const count = Number(h.slots.reduce((a, b) => a + b, 0n));
  const last = h.slots.findLastIndex((c) => c > 0n);
  return {
    count,
    total_ms: round(Number(h.sumNs) / 1e6),
    mean_us: count ? round(Number(h.sumNs) / count / 1e3) : 0,
    p50_us: round(percentileNs(h.slots, 50) / 1e3),
    p99_us: round(percentileNs(h.slots, 99) / 1e3),
    max_us: last < 0 ? 0 : round(slotUpperNs(last) / 1e3),
  };
}

export function summarizeStages(hists: Record<Stage, StageHistogram>): Record<Stage, StageSummary> {
  return Object.fromEntries(STAGES.map((s) => [s, summarizeStage(hists[s])])) as Record<Stage, StageSummary>;
}

/** What happened between two readings of the cumulative histograms. */
export function histogramDelta(
  after: Record<Stage, StageHistogram>,
  before: Record<Stage, StageHistogram>,
): Record<Stage, StageHistogram> {
  return Object.fromEntries(
    STAGES.map((s) => [
      s,
      { slots: after[s].slots.map((c, i) => c - (before[s].slots[i] ?? 0n)), sumNs: after[s].sumNs - before[s].sumNs },
    ]),
  ) as Record<Stage, StageHistogram>;
}

/**
 * Which finished requests become exported spans. Every request is attributed;
 * only some are worth a trace: failures, the slow tail (slower than the
 * running quantile of all requests so far), and a ratio of the rest. The slow
 * request is never the one that was dropped.
 */
import * as hdr from 'hdr-histogram-js';

export interface ExportSamplerOptions {
  /** Share of ordinary requests exported, 0..1. */
  ratio: number;
  /** Requests slower than this quantile of all requests so far are exported, 0..1 (0.99: the slowest 1 %). */
  tailQuantile: number;
  /** Until this many requests are seen there is no tail to compare with: export them all. */
  warmup?: number;
  /** How often (in requests) the tail threshold is recomputed; reading a quantile walks the histogram. */
  refreshEvery?: number;
  /** Uniform [0, 1); tests pass a seeded one. */
  random?: () => number;
}

export type ExportReason = 'error' | 'slow' | 'warmup' | 'sampled';

export class ExportSampler {
  private readonly h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 2 });
  private readonly options: Required<ExportSamplerOptions>;
  private thresholdUs = Infinity;
  private sinceRefresh = 0;

  constructor(options: ExportSamplerOptions) {
    if (!(options.ratio >= 0 && options.ratio <= 1)) throw new RangeError(`export ratio must be within 0..1, got ${options.ratio}`);
    if (!(options.tailQuantile > 0 && options.tailQuantile < 1))
      throw new RangeError(`tail quantile must be within (0, 1), got ${options.tailQuantile}`);
    this.options = { warmup: 100, refreshEvery: 256, random: Math.random, ...options };
  }

  /** Records the request's duration and says why it is exported, or null when it is not. */
  decide(durationNs: number, failed: boolean): ExportReason | null {
    const us = Math.max(1, Math.round(durationNs / 1000));
    this.h.recordValue(us);
    if (++this.sinceRefresh >= this.options.refreshEvery || this.h.totalCount === this.options.warmup) this.refresh();
    if (failed) return 'error';
    if (this.h.totalCount <= this.options.warmup) return 'warmup';
    if (us > this.thresholdUs) return 'slow';
    return this.options.random() < this.options.ratio ? 'sampled' : null;
  }

  /** The current tail threshold in ms (Infinity until the first refresh). */
  get thresholdMs(): number {
    return this.thresholdUs / 1000;
  }

  private refresh(): void {
    this.sinceRefresh = 0;
    this.thresholdUs = this.h.getValueAtPercentile(this.options.tailQuantile * 100);
  }
}

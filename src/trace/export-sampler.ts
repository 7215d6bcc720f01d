/**
 * Which finished requests become exported spans. Every request is attributed;
 * only some are worth a trace: failures, the slow tail (slower than the
 * running quantile of all requests so far), and a ratio of the rest, at most
 * so many a second. The slow request is never the one that was dropped.
 *
 * The tail's quantile rises with the request rate: the slowest 1 % of a
 * service at 50k req/s is 500 requests a second, barely slower than the
 * rest, and exporting each with its kernel stages' spans (~45 us of the
 * service's thread, bench/export-cost.ts) would cost it 2-3 % of its
 * throughput. So the tail is the slower of the quantile asked for and the one
 * that leaves about `tailPerSecond` requests a second above it: the
 * slowest ones still, every one of them exported, and in a burst of slow
 * requests more than that, as none is dropped.
 */
import * as hdr from 'hdr-histogram-js';

// Every request is recorded: the WebAssembly build records one in a third of
// the JavaScript build's time (27 against 87 ns here; the latter's Math.pow
// and Math.log2 showed in the service's profile). Loading it takes ~60 ms,
// once, in a process that traces. (WebAssembly is always there: Node strips
// our TypeScript with it.)
await hdr.initWebAssembly();

export interface ExportSamplerOptions {
  /** Share of ordinary requests exported, 0..1. */
  ratio: number;
  /**
   * Ordinary requests exported per second at most, whatever the ratio; 0:
   * no limit. A busy service's ordinary requests are alike: past a few
   * hundred traces a second, more of them cost the service without telling
   * more. Failures and the slow tail are never limited.
   */
  maxPerSecond?: number;
  /** Requests slower than this quantile of all requests so far are exported, 0..1 (0.99: the slowest 1 %). */
  tailQuantile: number;
  /** At rates where tailQuantile leaves more requests above it a second than this, the tail quantile rises to leave about this many; 0: it never rises. */
  tailPerSecond?: number;
  /** Until this many requests are seen there is no tail to compare with: export them all. */
  warmup?: number;
  /** How often (in requests) the tail threshold is recomputed; reading a quantile walks the histogram. */
  refreshEvery?: number;
  /** Uniform [0, 1); tests pass a seeded one. */
  random?: () => number;
}

export type ExportReason = 'error' | 'slow' | 'warmup' | 'sampled';

export class ExportSampler {
  private readonly h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 2,
    useWebAssembly: true,
  });
  private readonly options: Required<ExportSamplerOptions>;
  private thresholdUs = Infinity;
  /** Requests recorded, counted here: the histogram's own count is a call into WebAssembly. */
  private seen = 0;
  private sinceRefresh = 0;
  /** Requests a second, smoothed over about a second; 0 until two refreshes have timed it. */
  private rate = 0;
  private refreshedAtNs = -1;
  /** Ordinary exports the rate limit still allows now, refilled with time (a token bucket of one second's worth). */
  private tokens: number;
  private tokensAtNs = 0;

  constructor(options: ExportSamplerOptions) {
    if (!(options.ratio >= 0 && options.ratio <= 1)) throw new RangeError(`export ratio must be within 0..1, got ${options.ratio}`);
    if (!(options.tailQuantile > 0 && options.tailQuantile < 1))
      throw new RangeError(`tail quantile must be within (0, 1), got ${options.tailQuantile}`);
    if (!(options.maxPerSecond === undefined || options.maxPerSecond >= 0))
      throw new RangeError(`export rate must be 0 (no limit) or more, got ${options.maxPerSecond}`);
    if (!(options.tailPerSecond === undefined || options.tailPerSecond >= 0))
      throw new RangeError(`tail export rate must be 0 (no limit) or more, got ${options.tailPerSecond}`);
    this.options = { warmup: 100, refreshEvery: 256, random: Math.random, maxPerSecond: 0, tailPerSecond: 0, ...options };
    this.tokens = this.options.maxPerSecond;
  }

  /**
   * Records the request's duration and says why it is exported, or null when
   * it is not. `endNs` is when it ended (monotonic), for the rate limit.
   */
  decide(durationNs: number, failed: boolean, endNs: number): ExportReason | null {
    const us = Math.max(1, Math.round(durationNs / 1000));
    this.h.recordValue(us);
    const seen = ++this.seen;
    if (++this.sinceRefresh >= this.options.refreshEvery || seen === this.options.warmup) this.refresh(endNs);
    if (failed) return 'error';
    if (seen <= this.options.warmup) return 'warmup';
    if (us > this.thresholdUs) return 'slow';
    return this.options.random() < this.options.ratio && this.allowed(endNs) ? 'sampled' : null;
  }

  private allowed(nowNs: number): boolean {
    const rate = this.options.maxPerSecond;
    if (rate === 0) return true;
    this.tokens = Math.min(rate, this.tokens + ((nowNs - this.tokensAtNs) / 1e9) * rate);
    this.tokensAtNs = nowNs;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  /** The current tail threshold in ms (Infinity until the first refresh). */
  get thresholdMs(): number {
    return this.thresholdUs / 1000;
  }

  /** The quantile the tail starts at now, 0..1. */
  get tailQuantile(): number {
    const { tailQuantile, tailPerSecond } = this.options;
    return tailPerSecond > 0 && this.rate > 0 ? Math.max(tailQuantile, 1 - tailPerSecond / this.rate) : tailQuantile;
  }

  private refresh(nowNs: number): void {
    const elapsedNs = nowNs - this.refreshedAtNs;
    if (this.refreshedAtNs >= 0 && elapsedNs > 0) {
      const rate = (this.sinceRefresh / elapsedNs) * 1e9;
      // A weight of the time it covers: a refresh every few ms at high rates, so one burst moves it little.
      this.rate = this.rate === 0 ? rate : this.rate + Math.min(1, elapsedNs / 1e9) * (rate - this.rate);
    }
    this.refreshedAtNs = nowNs;
    this.sinceRefresh = 0;
    this.thresholdUs = this.h.getValueAtPercentile(this.tailQuantile * 100);
  }
}

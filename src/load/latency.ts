/**
 * Latency recording with HdrHistogram (hdr-histogram-js): microsecond
 * resolution from 1 us to 1 h at 3 significant digits, constant memory
 * whatever the request count.
 */
import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  count: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
  mean_ms: number;
}

function histogram(): hdr.JsHistogram {
  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
    bitBucketSize: 64,
  });
  // Without WebAssembly the builder makes the JavaScript implementation, whose iterators we use.
  if (!(h instanceof hdr.JsHistogram)) throw new Error('expected the JavaScript HdrHistogram');
  return h;
}

export class Latency {
  private readonly h = histogram();

  /** Records one latency given in nanoseconds. */
  recordNs(ns: number): void {
    this.h.recordValue(Math.max(1, Math.round(ns / 1000)));
  }

  get count(): number {
    return this.h.totalCount;
  }

  percentileMs(p: number): number {
    return this.h.totalCount ? this.h.getValueAtPercentile(p) / 1000 : 0;
  }

  summary(): LatencySummary {
    const ms = (us: number) => Math.round(us) / 1000;
    const empty = this.h.totalCount === 0;
    return {
      count: this.h.totalCount,
      p50_ms: empty ? 0 : ms(this.h.getValueAtPercentile(50)),
      p95_ms: empty ? 0 : ms(this.h.getValueAtPercentile(95)),
      p99_ms: empty ? 0 : ms(this.h.getValueAtPercentile(99)),
      p999_ms: empty ? 0 : ms(this.h.getValueAtPercentile(99.9)),
      max_ms: empty ? 0 : ms(this.h.maxValue),
      mean_ms: empty ? 0 : ms(this.h.mean),
    };
  }

  reset(): void {
    this.h.reset();
  }

  /** Every distinct recorded value (us) with its count, in order. */
  forEachRecorded(visit: (valueUs: number, count: number) => void): void {
    const it = this.h.recordedValuesIterator;
    it.reset();
    while (it.hasNext()) {
      const v = it.next();
      visit(v.valueIteratedTo, v.countAtValueIteratedTo);
    }
  }

  /** Adds another recording's counts to this one. */
  add(other: Latency): void {
    this.h.add(other.h);
  }

  /** The whole distribution, compressed (HdrHistogram's own format), for later comparison. */
  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.h);
  }

  static decode(encoded: string): Latency {
    const latency = new Latency();
    latency.h.add(hdr.decodeFromCompressedBase64(encoded) as hdr.JsHistogram);
    return latency;
  }
}

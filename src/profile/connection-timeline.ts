/**
 * Which request a profile sample ran for, when samples are labelled by the
 * connection they ran on rather than by the request.
 *
 * Why: @datadog/pprof labels a sample with the context found in its async
 * frame, and giving each request a context of its own costs about 1.1 us on
 * the service's thread (a wrapped holder object, a global handle with a weak
 * callback, a frame copy): 15 % of a saturated hello server. A connection's
 * context is set once, where its HTTP parser is made, and every request on
 * it inherits it. The requests of one HTTP/1 connection follow one another,
 * so the sample's time says which of them it was.
 *
 * Only requests that overlapped a sample are kept: the profiler's running
 * sample count, read as a request starts, says whether the previous one did.
 */

/** One request, as its samples are labelled. Times are CLOCK_MONOTONIC ns. */
export interface SampleLabel {
  spanId: string;
  route: string;
  startNs: number;
  /** 0 while the request runs. */
  endNs: number;
}

/** The request as it runs: read when it is kept, or at collection while it is the latest. */
export interface RunningRequest {
  spanId: string;
  /** The route; fastify names it after routing, so it is read late. */
  name: string;
  startNs: number;
  endNs: number;
}

const labelOf = (r: RunningRequest): SampleLabel => ({ spanId: r.spanId, route: r.name, startNs: r.startNs, endNs: r.endNs });

export class ConnectionTimeline {
  /** Earlier requests that overlapped a sample, in start order. */
  private readonly past: SampleLabel[] = [];
  /** The latest request, held as it is until the next one starts: nothing is built for most requests. */
  private current: RunningRequest | null = null;
  private samplesAtCurrent = 0;
  private round = 0;

  /**
   * A request starts on this connection. `samples` is the profiler's running
   * sample count; `round` counts the collections, each of which used every
   * sample before it, so earlier requests are dropped when it moves on.
   */
  enter(request: RunningRequest, samples: number, round: number): void {
    if (round !== this.round) {
      this.past.length = 0;
      this.round = round;
    }
    if (this.current && samples !== this.samplesAtCurrent) this.past.push(labelOf(this.current));
    this.current = request;
    this.samplesAtCurrent = samples;
  }

  /**
   * The request a sample taken at `ns` ran for: the one running then on the
   * connection. A sample between two requests (a response's last callbacks,
   * the next request's headers being parsed) belongs to neither, as it
   * belonged to no request's context when each request was labelled on its
   * own: the nearer one would draw a whole idle gap into it.
   */
  resolve(ns: number): SampleLabel | null {
    const current = this.current;
    // The latest request started after every kept one.
    if (current && current.startNs <= ns) return current.endNs === 0 || ns <= current.endNs ? labelOf(current) : null;
    const past = this.past;
    let lo = 0;
    let hi = past.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (past[mid]!.startNs <= ns) lo = mid + 1;
      else hi = mid;
    }
    // past[lo - 1] is the latest to start at or before ns.
    const before = past[lo - 1];
    return before && (before.endNs === 0 || ns <= before.endNs) ? before : null;
  }
}

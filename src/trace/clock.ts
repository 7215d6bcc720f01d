/**
 * Span times are CLOCK_MONOTONIC nanoseconds, the clock bpf_ktime_get_ns()
 * reads, so kernel stage bounds and JavaScript span bounds compare directly.
 * Only export converts to wall-clock time.
 */
import { performance } from 'node:perf_hooks';

const hrNs = (): number => Number(process.hrtime.bigint());

/**
 * CLOCK_MONOTONIC minus performance.now(), in ns, taken once: both read
 * libuv's monotonic clock (process.hrtime is CLOCK_MONOTONIC on Linux), and
 * performance.now() costs two thirds of hrtime.bigint() and no BigInt, twice
 * a request. The narrowest of a few brackets puts the offset within tens of ns.
 */
const nowToMonoNs = (() => {
  let best = { width: Infinity, offset: 0 };
  for (let i = 0; i < 16; i++) {
    const before = performance.now();
    const mono = hrNs();
    const after = performance.now();
    const width = after - before;
    if (width < best.width) best = { width, offset: mono - ((before + after) / 2) * 1e6 };
  }
  return best.offset;
})();

/** CLOCK_MONOTONIC ns; a double holds them to well under 1 ns for days of process uptime. */
export const monoNs = (): number => nowToMonoNs + performance.now() * 1e6;

// Wall-clock ms minus monotonic ms, sampled once: performance.timeOrigin has
// sub-millisecond precision, where Date.now() would put every span up to
// 1 ms off.
const wallMinusMonoMs = performance.timeOrigin + performance.now() - monoNs() / 1e6;

/** OpenTelemetry's HrTime: [seconds, nanoseconds] since the Unix epoch. */
export type HrTime = [number, number];

export function monoToWall(mono: number): HrTime {
  const ms = wallMinusMonoMs + mono / 1e6;
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.min(999_999_999, Math.round((ms - seconds * 1000) * 1e6));
  return [seconds, nanos];
}

/**
 * Wall-clock µs minus CLOCK_MONOTONIC µs, measured now to within a µs or
 * two: the instant Date.now() ticks over, wall time is a whole millisecond,
 * and the monotonic reads on either side of that call bracket the instant.
 * A bracket stretched by a pause (a collection, a compile) is measured
 * again at the next tick. It spins a few ms at most, so it is for
 * occasional use; it follows clock adjustments made since start, which the
 * offset above does not.
 */
export function wallMinusMonoUs(): number {
  let best = { width: Infinity, offset: 0 };
  for (let tries = 0; tries < 5 && best.width > 2_000; tries++) {
    // A monotonic read before every Date.now() call and one after the last:
    // the tick fell between the read before the last call that saw the old
    // millisecond and the read after the first that saw the new one.
    let at = monoNs();
    const start = Date.now();
    let previous = at;
    let now = start;
    while (now === start) {
      previous = at;
      at = monoNs();
      now = Date.now();
    }
    const after = monoNs();
    const width = after - previous;
    if (width < best.width) best = { width, offset: now * 1e3 - (previous + after) / 2e3 };
  }
  return best.offset;
}

/**
 * Span times are CLOCK_MONOTONIC nanoseconds, the clock bpf_ktime_get_ns()
 * reads, so kernel stage bounds and JavaScript span bounds compare directly.
 * Only export converts to wall-clock time.
 */
import { performance } from 'node:perf_hooks';

/** process.hrtime is CLOCK_MONOTONIC on Linux. A double holds ns exactly for 104 days of uptime, and to 2 ns after. */
export const monoNs = (): number => Number(process.hrtime.bigint());

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

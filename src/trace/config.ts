/**
 * The tracing settings a service gets from its environment, validated once:
 * a bad value stops the service at start with one line, never later.
 */
import { DEFAULT_PIN_DIR } from '../kernel/pinned.ts';

export type KernelMode = 'auto' | 'agent' | 'self' | 'off';

export interface TracingConfig {
  /** auto: an agent's pinned maps, else load the programs when privileged, else off. */
  kernel: KernelMode;
  pinDir: string;
  /** Where spans go; undefined: not exported (kernel attribution still runs). */
  otlpEndpoint: string | undefined;
  /** Whether the OTEL_EXPORTER_OTLP_* variables configure the exporter. */
  otlpFromEnv: boolean;
  serviceName: string | undefined;
  exportRatio: number;
  /** Ordinary (sampled) requests exported per second at most; 0: no limit. */
  exportMaxPerSecond: number;
  exportTailQuantile: number;
  exportTailPerSecond: number;
  /** Spans handed to the exporter and not yet acknowledged, at most. */
  exportMaxInFlight: number;
  /** Where the fused profile goes at exit; undefined: no profiling. */
  profileDir: string | undefined;
  /** Wall sampling interval of the profiler. */
  profileIntervalMicros: number;
  /** Heap sampling interval in bytes; 0: no heap profile. */
  heapIntervalBytes: number;
  /** Programs this process loads may time sends by BPF timestamping (false: the fallback hooks). */
  timestamping: boolean;
}

/**
 * One heap sample per 4 MiB allocated, on average. A saturated hello server
 * allocates a few hundred MB/s, so that is still dozens of samples a second;
 * at 512 KiB (Go's and pprof's usual rate) sampling cost it 2-2.5 % of its
 * throughput (bench/profile-overhead.ts), most of the profiler's budget.
 */
const HEAP_INTERVAL_BYTES = 4 * 1024 * 1024;

/** The profiler's wall sampling rate unless told: 99 Hz, not 100, so that it does not keep step with a service's 10 ms timers. */
export const DEFAULT_PROFILE_HZ = 99;

/**
 * The longest wall sampling interval, a second. The profile is collected
 * every 10 s, and a collection without a sample makes @datadog/pprof take
 * V8's profiler for stuck and restart it whole, which records every
 * compiled function again: at a sample a minute that cost the hello server
 * 300k instructions a request in every other window (bench/instructions.ts).
 */
export const MAX_PROFILE_INTERVAL_US = 1_000_000;

/**
 * Sampled requests exported per second at most, and slow-tail requests
 * about so many (export-sampler.ts): the 1 % ratio's share of a 10k req/s
 * service. An exported request with its kernel stages' spans costs
 * the service's thread about 45 us (bench/export-cost.ts), as much as 70
 * requests traced and not exported (bench/request-path.ts).
 */
const EXPORT_RATE = 100;

export class TracingConfigError extends Error {
  override name = 'TracingConfigError';
}

function fraction(env: NodeJS.ProcessEnv, name: string, fallback: number, open: boolean): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  const ok = Number.isFinite(v) && (open ? v > 0 && v < 1 : v >= 0 && v <= 1);
  if (!ok) throw new TracingConfigError(`${name} must be a number ${open ? 'between 0 and 1 (exclusive)' : 'from 0 to 1'}, got "${raw}"`);
  return v;
}

/** A whole number from `min`: 1, or 0 where 0 has a meaning of its own (no limit, turned off). */
function count(env: NodeJS.ProcessEnv, name: string, fallback: number, min: 0 | 1): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const pattern = min === 0 ? /^(0|[1-9]\d*)$/ : /^[1-9]\d*$/;
  if (!pattern.test(raw)) throw new TracingConfigError(`${name} must be ${min === 0 ? 'a whole number (0 or more)' : 'a positive integer'}, got "${raw}"`);
  return Number(raw);
}

const KERNEL_MODES: readonly KernelMode[] = ['auto', 'agent', 'self', 'off'];

function profileInterval(env: NodeJS.ProcessEnv): number {
  const us = count(env, 'WIREFLAME_PROFILE_INTERVAL_US', Math.round(1e6 / DEFAULT_PROFILE_HZ), 1);
  if (us > MAX_PROFILE_INTERVAL_US) {
    throw new TracingConfigError(
      `WIREFLAME_PROFILE_INTERVAL_US must be at most ${MAX_PROFILE_INTERVAL_US} (1 Hz: each 10 s collection needs samples), got "${env.WIREFLAME_PROFILE_INTERVAL_US}"`,
    );
  }
  return us;
}

export function tracingConfig(env: NodeJS.ProcessEnv): TracingConfig {
  const kernel = (env.WIREFLAME_KERNEL || 'auto') as KernelMode;
  if (!KERNEL_MODES.includes(kernel)) throw new TracingConfigError(`WIREFLAME_KERNEL must be one of ${KERNEL_MODES.join(', ')}, got "${kernel}"`);
  const timestamping = env.WIREFLAME_TIMESTAMPING || 'auto';
  if (timestamping !== 'auto' && timestamping !== 'off') throw new TracingConfigError(`WIREFLAME_TIMESTAMPING must be auto or off, got "${timestamping}"`);
  const endpoint = env.WIREFLAME_OTLP_ENDPOINT || undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint)) {
    throw new TracingConfigError(`WIREFLAME_OTLP_ENDPOINT must be an http:// or https:// URL, got "${endpoint}"`);
  }
  return {
    kernel,
    pinDir: env.WIREFLAME_PIN_DIR || DEFAULT_PIN_DIR,
    otlpEndpoint: endpoint,
    otlpFromEnv: !endpoint && Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT),
    serviceName: env.OTEL_SERVICE_NAME || undefined,
    exportRatio: fraction(env, 'WIREFLAME_EXPORT_RATIO', 0.01, false),
    exportMaxPerSecond: count(env, 'WIREFLAME_EXPORT_RATE', EXPORT_RATE, 0),
    exportTailQuantile: fraction(env, 'WIREFLAME_EXPORT_TAIL', 0.99, true),
    exportTailPerSecond: count(env, 'WIREFLAME_EXPORT_TAIL_RATE', EXPORT_RATE, 0),
    exportMaxInFlight: count(env, 'WIREFLAME_EXPORT_MAX_IN_FLIGHT', 4096, 1),
    profileDir: env.WIREFLAME_PROFILE_DIR || undefined,
    profileIntervalMicros: profileInterval(env),
    heapIntervalBytes: count(env, 'WIREFLAME_HEAP_INTERVAL_BYTES', HEAP_INTERVAL_BYTES, 0),
    timestamping: timestamping === 'auto',
  };
}

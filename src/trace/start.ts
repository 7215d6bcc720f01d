/**
 * Starts tracing in this process: kernel access (an agent's pinned maps, or
 * programs of its own), OTLP export, and the instrumentations. One tracer per
 * process, however often it is started.
 */
import { PinnedMaps } from '../kernel/pinned.ts';
import { KernelSession, KernelUnavailableError } from '../kernel/session.ts';
import type { SharedMaps } from '../kernel/shared-maps.ts';
import type { TracingConfig } from './config.ts';
import { ExportSampler } from './export-sampler.ts';
import { instrumentHttpClient } from './instrument/http-client.ts';
import { instrumentHttpServer } from './instrument/http-server.ts';
import { instrumentOnRequire } from './instrument/on-require.ts';
import type { OtlpSink } from './otlp-sink.ts';
import { SocketOwners } from './socket-owners.ts';
import { Tracer } from './tracer.ts';
import type { ProfilerResult } from '../profile/profiler.ts';
import type { RouteStats } from '../profile/route-stats.ts';

export interface Tracing {
  tracer: Tracer;
  /** How kernel stages reach this process: 'agent', 'self', or why they are off. */
  kernel: { source: 'agent' | 'self' } | { source: 'off'; reason: string };
  sink: OtlpSink | null;
  owners: SocketOwners | null;
  sampler: ExportSampler;
  /**
   * Finishes the requests still waiting for their last bytes, then writes the
   * fused profile, when profiling (synchronous: it also runs at exit); once.
   */
  writeProfile(): void;
  /** Writes the profile of the time since the last dump (or the start) and goes on profiling. */
  dumpProfile(): void;
  /** Writes the profile, exports what is queued, releases the kernel. */
  shutdown(): Promise<void>;
}

/** The profiler and the per-route totals it is fused with; loaded only when profiling. */
async function startProfiling(config: TracingConfig) {
  const [{ RequestProfiler }, { RouteStats }, { writeProfiles }] = await Promise.all([
    import('../profile/profiler.ts'),
    import('../profile/route-stats.ts'),
    import('../profile/write-profiles.ts'),
  ]);
  const profiler = new RequestProfiler({ intervalMicros: config.profileIntervalMicros, heapIntervalBytes: config.heapIntervalBytes });
  profiler.start();
  return { profiler, stats: new RouteStats(), newStats: () => new RouteStats(), write: writeProfiles };
}

const KEY = Symbol.for('wireflame.tracing');
type Holder = { [KEY]?: Tracing };

export function currentTracing(): Tracing | undefined {
  return (globalThis as Holder)[KEY];
}

interface KernelLink {
  maps: SharedMaps;
  source: 'agent' | 'self';
  hooks: string | undefined;
  close(): void;
}

function openKernel(config: TracingConfig): KernelLink | string {
  if (config.kernel === 'off') return 'kernel stages off: WIREFLAME_KERNEL=off';
  let agentProblem = '';
  if (config.kernel !== 'self') {
    try {
      const maps = PinnedMaps.open(config.pinDir);
      return { maps, source: 'agent', hooks: undefined, close: () => maps.close() };
    } catch (err) {
      if (!(err instanceof KernelUnavailableError)) throw err;
      agentProblem = err.message;
      if (config.kernel === 'agent') return agentProblem;
    }
  }
  try {
    // Owners are written from the first request on: look them up from the start.
    const session = KernelSession.open({ filter: { kind: 'pids', pids: [process.pid] }, sharedOwners: true, timestamping: config.timestamping });
    const hooks = session.hooks.map((h) => `${h.name}=${h.mode}`).join(',');
    return { maps: session, source: 'self', hooks, close: () => session.close() };
  } catch (err) {
    if (!(err instanceof KernelUnavailableError)) throw err;
    return agentProblem ? `${agentProblem}; and loading our own: ${err.message}` : err.message;
  }
}

/** One line on what tracing did, for the service's log when it exits. */
export function tracingSummary(t: Tracing): string {
  const c = t.tracer.counters;
  const parts = [`traced ${c.requests} requests (${c.withKernel} with kernel stages, ${c.awaitedSend} waited for their last bytes, ${c.sendIncomplete} in vain) and ${c.backendCalls} backend calls`];
  if (t.owners) {
    const o = t.owners.counters;
    parts.push(`socket owners written ${o.slotWrites} times in slots, ${o.hashWrites} in the hash, ${o.failed} failed, ${o.untimed} on sockets without a TCP peer`);
  }
  if (t.sink) {
    const e = t.sink.counters;
    parts.push(`exported ${e.spansExported} spans, ${e.spansFailed} failed, ${e.requestsDropped} requests dropped (export backlog full)`);
    parts.push(tailSummary(t.sampler));
  }
  return `wireflame: ${parts.join('; ')}`;
}

/** Where the slow tail began at the end: its quantile rises with the request rate (export-sampler.ts). */
function tailSummary(sampler: ExportSampler): string {
  if (!Number.isFinite(sampler.thresholdMs)) return 'slow tail: none yet';
  const percentile = Number((sampler.tailQuantile * 100).toFixed(2));
  return `slow tail: slower than ${Number(sampler.thresholdMs.toPrecision(3))} ms, the running p${percentile}`;
}

export interface StartOptions {
  /** Where the one-line notices go; default stderr. */
  log?: (line: string) => void;
}

export async function startTracing(config: TracingConfig, options: StartOptions = {}): Promise<Tracing> {
  const existing = currentTracing();
  if (existing) return existing;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const opened = openKernel(config);
  const link = typeof opened === 'string' ? null : opened;
  const kernelOff = typeof opened === 'string' ? opened : null;
  const owners = link ? new SocketOwners(link.maps) : null;
  const exporting = config.otlpEndpoint !== undefined || config.otlpFromEnv;
  // The OpenTelemetry SDK takes ~0.2 s to load: only a process that exports pays it.
  const sink = exporting
    ? new (await import('./otlp-sink.ts')).OtlpSink({
        endpoint: config.otlpEndpoint,
        serviceName: config.serviceName,
        maxInFlight: config.exportMaxInFlight,
        hooks: link?.hooks,
      })
    : null;
  const profiling = config.profileDir ? await startProfiling(config) : null;
  const sampler = new ExportSampler({
    ratio: config.exportRatio,
    maxPerSecond: config.exportMaxPerSecond,
    tailQuantile: config.exportTailQuantile,
    tailPerSecond: config.exportTailPerSecond,
  });
  const tracer = new Tracer({
    owners,
    sink,
    sampler,
    ...(profiling ? { labels: profiling.profiler } : {}),
  });
  if (profiling) tracer.onFinish((span) => profiling.stats.record(span));
  instrumentHttpServer(tracer);
  instrumentHttpClient(tracer);
  instrumentOnRequire(tracer);
  if (kernelOff) log(`wireflame: ${kernelOff}`);
  let profileWritten = false;
  const write = (result: ProfilerResult, stats: RouteStats) => {
    if (!profiling || !config.profileDir) return;
    const written = profiling.write(config.profileDir, {
      service: config.serviceName ?? 'service',
      result,
      stats,
      kernelOff,
    });
    for (const note of written.notes) log(`wireflame: profile: ${note}`);
  };
  const tracing: Tracing = {
    tracer,
    kernel: link ? { source: link.source } : { source: 'off', reason: kernelOff ?? '' },
    sink,
    owners,
    sampler,
    writeProfile() {
      tracer.finishAwaiting();
      if (!profiling || profileWritten) return;
      profileWritten = true;
      write(profiling.profiler.stop(), profiling.stats);
    },
    dumpProfile() {
      if (!profiling || profileWritten) return;
      const stats = profiling.stats;
      profiling.stats = profiling.newStats();
      write(profiling.profiler.snapshot(), stats);
    },
    async shutdown() {
      tracing.writeProfile();
      await sink?.shutdown();
      link?.close();
    },
  };
  (globalThis as Holder)[KEY] = tracing;
  return tracing;
}

/**
 * The in-process profiler, over @datadog/pprof: wall time with CPU time,
 * every sample labelled by the request it ran for (useCPED: the label is
 * kept in Node 24's AsyncContextFrame, so it follows the request's async
 * work), and a heap profile beside it.
 */
import * as pprof from '@datadog/pprof';
import type { SpanRecord } from '../trace/span-record.ts';
import type { Frame } from './frames.ts';
import type { CpuSample } from './fuse.ts';

export interface ProfilerOptions {
  /** Wall sampling interval; 10 000 us = 100 Hz. */
  intervalMicros: number;
  /** Heap sampling: one sample per this many allocated bytes on average; 0 = no heap profile. */
  heapIntervalBytes: number;
}

type Numeric = number | bigint;

/**
 * What a sample is labelled with. The profiler holds its context through a
 * global handle until the request's async work is collected, so the context
 * is this small object, not the span record: holding whole records through
 * a young-generation collection cost a saturated server about 1 us per
 * request in copying alone.
 */
type SampleLabel = NonNullable<SpanRecord['sampleLabel']>;

/**
 * The parts of a pprof profile read here. @datadog/pprof hands back the
 * CommonJS build of pprof-format's classes, which TypeScript will not mix
 * with the ESM build's; the shape is the same.
 */
export interface ProfileLike {
  stringTable: { strings: string[] };
  sampleType: { type: Numeric }[];
  function: { id: Numeric; name: Numeric; filename: Numeric }[];
  location: { id: Numeric; line: { functionId: Numeric; line: Numeric }[] }[];
  sample: { locationId: Numeric[]; value: Numeric[]; label: { key: Numeric; str: Numeric }[] }[];
}

export interface ProfilerResult {
  samples: CpuSample[];
  /** The heap profile, ready to encode; null when heap profiling is off. */
  heap: { encode(): Uint8Array } | null;
  /** When profiling began, ns since the epoch, and for how long. */
  startNanos: number;
  durationNanos: number;
}

const HEAP_STACK_DEPTH = 64;

/** The profile's samples as root-first JavaScript stacks with their request's route and span. */
export function samplesOf(profile: ProfileLike): CpuSample[] {
  const str = (i: unknown) => profile.stringTable.strings[Number(i)] ?? '';
  const wallIndex = profile.sampleType.findIndex((t) => str(t.type) === 'wall');
  const functions = new Map(profile.function.map((f) => [Number(f.id), f]));
  const frames = new Map<number, Frame[]>();
  for (const loc of profile.location) {
    // A location's lines run from the innermost inlined function out: reversed, outer first.
    const lines = [...loc.line].reverse();
    frames.set(
      Number(loc.id),
      lines.map((l) => {
        const fn = functions.get(Number(l.functionId));
        return { name: str(fn?.name) || '(anonymous)', kind: 'cpu', file: str(fn?.filename), line: Number(l.line) };
      }),
    );
  }
  return profile.sample.map((s) => {
    const labels = new Map(s.label.map((l) => [str(l.key), str(l.str)]));
    const stack = [...s.locationId].reverse().flatMap((id) => frames.get(Number(id)) ?? []);
    return {
      stack,
      wallNs: Number(s.value[wallIndex] ?? 0),
      ...(labels.has('route') ? { route: labels.get('route') } : {}),
      ...(labels.has('span_id') ? { spanId: labels.get('span_id') } : {}),
    };
  });
}

export class RequestProfiler {
  private readonly options: ProfilerOptions;
  private startNanos = 0;
  private result: ProfilerResult | undefined;

  constructor(options: ProfilerOptions) {
    this.options = options;
  }

  start(): void {
    this.startNanos = Date.now() * 1e6;
    pprof.time.start({ intervalMicros: this.options.intervalMicros, withContexts: true, useCPED: true, collectCpuTime: true });
    if (this.options.heapIntervalBytes > 0) pprof.heap.start(this.options.heapIntervalBytes, HEAP_STACK_DEPTH);
  }

  /** Labels what runs from now on, in this async context, with the request; its route is read at stop, once known. */
  enter(span: SpanRecord): void {
    const label: SampleLabel = { spanId: span.spanId, route: span.name };
    span.sampleLabel = label;
    pprof.time.setContext(label);
  }

  /** The request's route became known (fastify names it after routing): its samples carry it. */
  rename(span: SpanRecord): void {
    if (span.sampleLabel) span.sampleLabel.route = span.name;
  }

  /** Stops and returns what was sampled; safe to call twice. */
  stop(): ProfilerResult {
    this.result ??= this.take(false);
    return this.result;
  }

  /** What was sampled since the last snapshot, profiling on. */
  snapshot(): ProfilerResult {
    return this.result ?? this.take(true);
  }

  private take(restart: boolean): ProfilerResult {
    const wall = pprof.time.stop(restart, ({ context }) => {
      const label = context?.context as SampleLabel | undefined;
      const labels: Record<string, string> = label?.spanId ? { span_id: label.spanId, route: label.route } : {};
      return labels;
    });
    const heap = this.options.heapIntervalBytes > 0 ? pprof.heap.profile() : null;
    if (heap && !restart) pprof.heap.stop();
    const now = Date.now() * 1e6;
    const result = { samples: samplesOf(wall), heap, startNanos: this.startNanos, durationNanos: now - this.startNanos };
    this.startNanos = now;
    return result;
  }
}

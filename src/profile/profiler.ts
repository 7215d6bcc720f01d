/**
 * The in-process profiler, over @datadog/pprof: wall time with CPU time,
 * every sample labelled by the request it ran for (useCPED: the label is
 * kept in Node 24's AsyncContextFrame, so it follows the request's async
 * work), and a heap profile beside it. An HTTP connection's frame is
 * labelled once with its timeline, and a sample's time picks the request
 * from it (see connection-timeline.ts); requests that arrive some other
 * way are labelled one by one.
 */
import type { Socket } from 'node:net';
import * as pprof from '@datadog/pprof';
import { wallMinusMonoUs } from '../trace/clock.ts';
import type { SpanRecord } from '../trace/span-record.ts';
import { ConnectionTimeline, type SampleLabel } from './connection-timeline.ts';
import type { Frame } from './frames.ts';
import type { CpuSample } from './fuse.ts';

export interface ProfilerOptions {
  /** Wall sampling interval; 10 000 us = 100 Hz. */
  intervalMicros: number;
  /** Heap sampling: one sample per this many allocated bytes on average; 0 = no heap profile. */
  heapIntervalBytes: number;
  /** How often the wall profile is collected while it runs; default 10 s. */
  collectEveryMs?: number;
}

type Numeric = number | bigint;

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

/**
 * A connection's timeline keeps every request that overlapped a sample
 * until the next collection: at most one label a sample. A collection holds
 * the service's thread: about 13 ms waiting for a profiler tick on either side
 * of the restart (pprof's guard against a V8 profiler bug), then about 9 us of
 * serializing per sample. Measured on a saturated hello server: 25 ms every
 * 10 s, 72 ms every 60 s. Every 10 s costs 0.25 % of the thread rather than
 * 0.12 %, and keeps the pause, which every request then waiting sits
 * through, at a third.
 */
const COLLECT_EVERY_MS = 10_000;

/** The profile's samples as root-first JavaScript stacks with their request's route and span. */
export function samplesOf(profile: ProfileLike): CpuSample[] {
  const str = (i: unknown) => profile.stringTable.strings[Number(i)] ?? '';
  const wallIndex = profile.sampleType.findIndex((t) => str(t.type) === 'wall');
  const cpuIndex = profile.sampleType.findIndex((t) => str(t.type) === 'cpu');
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
  // Samples are kept until the profile is written, and most repeat a few
  // stacks: they share one array each.
  const stacks = new Map<string, Frame[]>();
  return profile.sample.map((s) => {
    const labels = new Map(s.label.map((l) => [str(l.key), str(l.str)]));
    const key = s.locationId.join(',');
    let stack = stacks.get(key);
    if (!stack) stacks.set(key, (stack = [...s.locationId].reverse().flatMap((id) => frames.get(Number(id)) ?? [])));
    const wallNs = Number(s.value[wallIndex] ?? 0);
    return {
      stack,
      wallNs,
      cpuNs: cpuIndex >= 0 ? Number(s.value[cpuIndex] ?? 0) : wallNs,
      ...(labels.has('route') ? { route: labels.get('route') } : {}),
      ...(labels.has('span_id') ? { spanId: labels.get('span_id') } : {}),
    };
  });
}

const TIMELINE = Symbol('wireflame.timeline');

type Labelled = Socket & { [TIMELINE]?: ConnectionTimeline };

/** What a sample's context is: its connection's timeline, or its request's own label. */
type SampleContext = ConnectionTimeline | SampleLabel;

export class RequestProfiler {
  private readonly options: ProfilerOptions;
  /** The profiler's running sample count, written by its signal handler. */
  private state: Uint32Array = new Uint32Array(1);
  /** Collections so far: a timeline forgets the requests an earlier one used. */
  private round = 0;
  /** Samples collected since the last snapshot. */
  private collected: CpuSample[] = [];
  private collector: NodeJS.Timeout | undefined;
  private startNanos = 0;
  private result: ProfilerResult | undefined;

  constructor(options: ProfilerOptions) {
    this.options = options;
  }

  start(): void {
    this.startNanos = Date.now() * 1e6;
    pprof.time.start({ intervalMicros: this.options.intervalMicros, withContexts: true, useCPED: true, collectCpuTime: true });
    this.state = pprof.time.getState() as Uint32Array;
    this.collector = setInterval(() => this.collect(true), this.options.collectEveryMs ?? COLLECT_EVERY_MS).unref();
    if (this.options.heapIntervalBytes > 0) pprof.heap.start(this.options.heapIntervalBytes, HEAP_STACK_DEPTH);
  }

  /**
   * Runs a new connection's setup, where Node makes its HTTP parser: the
   * parser keeps the frame it was made in, and every request on the
   * connection runs in a copy of it, labelled with the connection's timeline.
   */
  connection<T>(socket: Socket, setup: () => T): T {
    const timeline = new ConnectionTimeline();
    (socket as Labelled)[TIMELINE] = timeline;
    // The profiler's own storage: the frame gains one entry, which every request's frame then copies.
    return pprof.time.runWithContext(timeline, setup);
  }

  /** A request starts: on a connection seen open, its timeline labels it; false otherwise. */
  enter(span: SpanRecord, socket: Socket | null): boolean {
    const timeline = socket ? (socket as Labelled)[TIMELINE] : undefined;
    timeline?.enter(span, this.state[0]!, this.round);
    return timeline !== undefined;
  }

  /** Labels what runs from now on, in the current async context (the request's own), with the request. */
  label(span: SpanRecord): void {
    const label: SampleLabel = { spanId: span.spanId, route: span.name, startNs: span.startNs, endNs: 0 };
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
    if (!restart) clearInterval(this.collector);
    this.collect(restart);
    const heap = this.options.heapIntervalBytes > 0 ? pprof.heap.profile() : null;
    if (heap && !restart) pprof.heap.stop();
    const now = Date.now() * 1e6;
    const result = { samples: this.collected, heap, startNanos: this.startNanos, durationNanos: now - this.startNanos };
    this.collected = [];
    this.startNanos = now;
    return result;
  }

  /** Adds what was sampled since the last collection to `collected`; the timelines then forget the requests it used. */
  private collect(restart: boolean): void {
    // Samples carry wall-clock microseconds; measured now, as the profiler measures its own offset.
    const wallMinusMono = wallMinusMonoUs();
    const wall = pprof.time.stop(restart, ({ context }) => {
      const held = context?.context as SampleContext | undefined;
      const label =
        held instanceof ConnectionTimeline ? held.resolve((Number(context!.timestamp) - wallMinusMono) * 1e3) : held;
      const labels: Record<string, string> = label ? { span_id: label.spanId, route: label.route } : {};
      return labels;
    });
    this.round++;
    for (const sample of samplesOf(wall)) this.collected.push(sample);
  }
}

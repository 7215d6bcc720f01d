/**
 * What Wireflame keeps of every span: cheap plain data, made for 100 % of
 * requests. OpenTelemetry spans are built from it only for the requests that
 * are exported.
 */
import type { StageAgg } from '../kernel/codec.ts';
import type { Stage } from '../kernel/layout.ts';
import type { KernelHold } from './socket-owners.ts';
import type { SampleLabel } from '../profile/connection-timeline.ts';
import { SpanId, TraceId } from './trace-context.ts';

export type AttributeValue = string | number | boolean;

export type SpanKind = 'server' | 'client';

/** Fields are set in the constructor, in one order: one object shape for every span, made for every request. */
export class SpanRecord {
  /** Shared with the trace's other spans. */
  readonly trace: TraceId;
  readonly id: SpanId;
  /** The caller's span: an incoming traceparent for a server span, the request's span for a client span. */
  readonly parentSpanId: string | undefined;
  readonly kind: SpanKind;
  /**
   * A server span's request as it arrived (its method, and its target: the
   * path and query). Its name and HTTP attributes are made from them when
   * first read: most requests are neither exported nor profiled, and
   * fastify renames every request with its route.
   */
  method: string | undefined = undefined;
  target: string | undefined = undefined;
  private given: string | undefined;
  /** CLOCK_MONOTONIC ns. */
  readonly startNs: number;
  /** CLOCK_MONOTONIC ns; 0 while the span runs. */
  endNs = 0;
  attributes: Record<string, AttributeValue> = {};
  /** The error message when the span failed. */
  error: string | undefined = undefined;
  /**
   * Kernel time of the span's own socket, with a server span's parked
   * receive waits; null when it had none or the kernel is off. Read whole
   * for client spans, and for server spans that are exported or profiled.
   */
  kernel: Partial<Record<Stage, StageAgg>> | null = null;
  /** Client spans (backend calls) that ended inside this span. */
  children: SpanRecord[] = [];
  /** Where the kernel keeps this span's time while it runs; null when it owns no socket. */
  hold: KernelHold | null = null;
  /**
   * What the profiler labels the request's samples with, when it labels
   * them one by one (a request not on an HTTP connection it saw open). The
   * span points at its label and never the other way: the profiler keeps
   * labels alive longer than requests.
   */
  sampleLabel: SampleLabel | null = null;

  /** `name` undefined: a server span named by its request (`method` and `target`). */
  constructor(trace: TraceId, id: SpanId, parentSpanId: string | undefined, kind: SpanKind, name: string | undefined, startNs: number) {
    this.trace = trace;
    this.id = id;
    this.parentSpanId = parentSpanId;
    this.kind = kind;
    this.given = name;
    this.startNs = startNs;
  }

  /** What the span is called: given, or its request's method and path. */
  get name(): string {
    return (this.given ??= `${this.method} ${pathOf(this.target)}`);
  }

  set name(name: string) {
    this.given = name;
  }

  /** The attributes of the request a server span served, made when they are exported. */
  requestAttributes(): Record<string, AttributeValue> {
    if (this.method === undefined) return {};
    return { 'http.request.method': this.method, 'url.path': pathOf(this.target) };
  }

  /** 32 hex digits, made at the first read. */
  get traceId(): string {
    return this.trace.toHex();
  }

  /** 16 hex digits, made at the first read. */
  get spanId(): string {
    return this.id.toHex();
  }
}

function pathOf(target: string | undefined): string {
  if (!target) return '/';
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}

/** A span of given hex ids (tests, benchmarks, fixtures). */
export function newSpan(fields: {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  kind: SpanKind;
  name: string;
  startNs: number;
}): SpanRecord {
  return new SpanRecord(TraceId.fromHex(fields.traceId), SpanId.fromHex(fields.spanId), fields.parentSpanId, fields.kind, fields.name, fields.startNs);
}

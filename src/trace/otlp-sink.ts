/**
 * OTLP export of the chosen span records, through the OpenTelemetry Node SDK
 * and its gRPC trace exporter. Spans are built here and only here, after a
 * request was chosen for export, so an unexported request costs no span.
 *
 * A slow or absent collector never slows the service: spans in flight are
 * capped, and a request that finds the cap reached is dropped and counted.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { SpanKind, SpanStatusCode, TraceFlags, trace, type SpanContext } from '@opentelemetry/api';
import { ExportResultCode, hrTimeDuration, type ExportResult, type InstrumentationScope } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { AlwaysOnSampler, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import { newSpanId } from './trace-context.ts';
import { monoToWall } from './clock.ts';
import { kernelAttributes, serverStartNs, stageIntervals } from './kernel-spans.ts';
import type { AttributeValue, SpanRecord } from './span-record.ts';

export interface OtlpSinkOptions {
  /** gRPC endpoint, e.g. http://127.0.0.1:4317; default: the OTEL_EXPORTER_OTLP_* variables. */
  endpoint?: string;
  /** Default: OTEL_SERVICE_NAME, else the SDK's unknown_service. */
  serviceName?: string;
  /** Attributes every span's resource carries (host, cloud). */
  resource?: Record<string, AttributeValue>;
  /** Spans handed to the exporter and not yet acknowledged, at most. */
  maxInFlight?: number;
  /** Attach modes of the kernel hooks, for the spans' attributes. */
  hooks?: string;
}

export interface ExportCounters {
  /** Requests handed to export. */
  requests: number;
  spansExported: number;
  spansFailed: number;
  /** Requests not exported because too many spans were in flight. */
  requestsDropped: number;
}

class CountingExporter implements SpanExporter {
  private readonly inner: SpanExporter;
  private readonly settled: (ok: boolean, spans: number) => void;

  constructor(inner: SpanExporter, settled: (ok: boolean, spans: number) => void) {
    this.inner = inner;
    this.settled = settled;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      this.settled(result.code === ExportResultCode.SUCCESS, spans.length);
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

export class OtlpSink {
  readonly counters: ExportCounters = { requests: 0, spansExported: 0, spansFailed: 0, requestsDropped: 0 };
  private readonly sdk: NodeSDK;
  private readonly processor: BatchSpanProcessor;
  /** What every span shares, taken from a span the SDK made (see constructor). */
  private readonly resource: Resource;
  private readonly scope: InstrumentationScope;
  private readonly maxInFlight: number;
  private readonly hooks: string | undefined;
  private inFlight = 0;
  /** Spans built since the last hand-off to the processor. */
  private pending: ReadableSpan[] = [];
  /** Runs a function in the context the sink was made in, which belongs to no request. */
  private readonly outside = AsyncLocalStorage.snapshot();

  constructor(options: OtlpSinkOptions) {
    this.maxInFlight = options.maxInFlight ?? 4096;
    this.hooks = options.hooks;
    const exporter = new CountingExporter(new OTLPTraceExporter(options.endpoint ? { url: options.endpoint } : {}), (ok, spans) => {
      this.inFlight -= spans;
      if (ok) this.counters.spansExported += spans;
      else this.counters.spansFailed += spans;
    });
    // Twice the in-flight cap: the processor's own queue never fills, so
    // every drop happens here, where it is counted. A batch is serialized on
    // the service's thread in one go: 128 spans (about 1 ms here) rather than
    // the default 512 keep that pause out of the latency tail.
    this.processor = new BatchSpanProcessor({ exporter, maxQueueSize: this.maxInFlight * 2, maxExportBatchSize: 128, scheduledDelayMillis: 1000 });
    this.sdk = new NodeSDK({
      ...(options.serviceName ? { serviceName: options.serviceName } : {}),
      resource: resourceFromAttributes(options.resource ?? {}),
      sampler: new AlwaysOnSampler(),
      spanProcessors: [this.processor],
      instrumentations: [],
    });
    this.sdk.start();
    // The SDK's resource (its detectors' and ours) and scope, read off one
    // span it starts and never ends, so never exports. Spans are then handed
    // to its processor finished: records already hold every time, id and
    // attribute, and the SDK's own span objects cost about half of export.
    const probe = trace.getTracer('wireflame').startSpan('wireflame.resource') as unknown as ReadableSpan;
    this.resource = probe.resource;
    this.scope = probe.instrumentationScope;
  }

  /** Builds and queues the spans of a finished request: its own, its backend calls', and their kernel stages. */
  submit(root: SpanRecord): void {
    this.counters.requests++;
    const spans: ReadableSpan[] = [];
    const parent = root.parentSpanId ? remoteParent(root.traceId, root.parentSpanId) : undefined;
    this.build(spans, root, parent, root.kind === 'server' ? serverStartNs(root) : root.startNs);
    // Built before the cap is checked: a request's spans are few, and only
    // exported requests (a few percent) get here.
    if (this.inFlight + spans.length > this.maxInFlight) {
      this.counters.requestsDropped++;
      return;
    }
    this.inFlight += spans.length;
    if (this.pending.length === 0) this.outside(setImmediate, this.handOff);
    for (const span of spans) this.pending.push(span);
  }

  /**
   * The processor serializes a full batch inside the call that fills it. Fed
   * from here, that happens after the current callbacks and outside every
   * request's async context: never inside a request's response, and the
   * profiler does not count it as a request's CPU.
   */
  private readonly handOff = (): void => {
    const spans = this.pending;
    this.pending = [];
    for (const span of spans) this.processor.onEnd(span);
  };

  /** The record's span, its stages' spans and its backend calls' spans, children first. */
  private build(into: ReadableSpan[], r: SpanRecord, parent: SpanContext | undefined, startNs: number): void {
    const own = { traceId: r.traceId, spanId: r.spanId, traceFlags: TraceFlags.SAMPLED };
    for (const stage of stageIntervals(r.kernel, startNs, r.endNs)) {
      into.push(this.finished({
        name: stage.name,
        kind: SpanKind.INTERNAL,
        context: { traceId: r.traceId, spanId: newSpanId(), traceFlags: TraceFlags.SAMPLED },
        parent: own,
        startNs: stage.startNs,
        endNs: stage.endNs,
        attributes: { 'wireflame.kernel.stage': stage.stage, 'wireflame.kernel.count': stage.agg.count, 'wireflame.kernel.wait_ns': stage.agg.sumNs },
        error: undefined,
      }));
    }
    for (const child of r.children) this.build(into, child, own, child.startNs);
    into.push(this.finished({
      name: r.name,
      kind: r.kind === 'server' ? SpanKind.SERVER : SpanKind.CLIENT,
      context: own,
      parent,
      startNs,
      endNs: r.endNs,
      attributes: { ...r.requestAttributes(), ...r.attributes, ...kernelAttributes(r.kernel, this.hooks) },
      error: r.error,
    }));
  }

  /** A finished span, as the SDK's processor takes it. */
  private finished(span: {
    name: string;
    kind: SpanKind;
    context: SpanContext;
    parent: SpanContext | undefined;
    startNs: number;
    endNs: number;
    attributes: Record<string, AttributeValue>;
    error: string | undefined;
  }): ReadableSpan {
    const startTime = monoToWall(span.startNs);
    const endTime = monoToWall(span.endNs);
    return {
      name: span.name,
      kind: span.kind,
      spanContext: () => span.context,
      parentSpanContext: span.parent,
      startTime,
      endTime,
      // As the SDK's own spans compute it; a span never ends before it starts, but if it did its duration is 0.
      duration: hrTimeDuration(startTime, span.endNs < span.startNs ? startTime : endTime),
      status: span.error === undefined ? { code: SpanStatusCode.UNSET } : { code: SpanStatusCode.ERROR, message: span.error },
      attributes: span.attributes,
      links: [],
      events: [],
      ended: true,
      resource: this.resource,
      instrumentationScope: this.scope,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
  }

  /** Exports what is queued and stops. */
  shutdown(): Promise<void> {
    this.handOff();
    return this.sdk.shutdown();
  }
}

/** The caller's span, from an incoming traceparent. */
function remoteParent(traceId: string, spanId: string): SpanContext {
  return { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true };
}

/**
 * OTLP export of the chosen span records, through the OpenTelemetry Node SDK
 * and its gRPC trace exporter. Spans are built here and only here, after a
 * request was chosen for export, so an unexported request costs no span.
 *
 * A slow or absent collector never slows the service: spans in flight are
 * capped, and a request that finds the cap reached is dropped and counted.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  type IdGenerator,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
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

/**
 * The SDK draws span ids from its IdGenerator; Wireflame's ids were drawn
 * when the request began (they key the kernel's aggregates and travel in
 * traceparent headers), so the generator hands back the ids set just before
 * each startSpan.
 */
class PresetIds implements IdGenerator {
  traceId = '';
  spanId = '';
  generateTraceId(): string {
    return this.traceId;
  }
  generateSpanId(): string {
    return this.spanId;
  }
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
  private readonly ids = new PresetIds();
  private readonly maxInFlight: number;
  private readonly hooks: string | undefined;
  private inFlight = 0;

  constructor(options: OtlpSinkOptions) {
    this.maxInFlight = options.maxInFlight ?? 4096;
    this.hooks = options.hooks;
    const exporter = new CountingExporter(new OTLPTraceExporter(options.endpoint ? { url: options.endpoint } : {}), (ok, spans) => {
      this.inFlight -= spans;
      if (ok) this.counters.spansExported += spans;
      else this.counters.spansFailed += spans;
    });
    this.sdk = new NodeSDK({
      ...(options.serviceName ? { serviceName: options.serviceName } : {}),
      resource: resourceFromAttributes(options.resource ?? {}),
      sampler: new AlwaysOnSampler(),
      idGenerator: this.ids,
      // Twice the in-flight cap: the processor's own queue never fills, so
      // every drop happens here, where it is counted. A batch is serialized
      // on the service's thread in one go, inside whichever request filled
      // it: 128 spans (about 1 ms here) rather than the default 512 keep
      // that pause out of the latency tail.
      spanProcessors: [
        new BatchSpanProcessor({ exporter, maxQueueSize: this.maxInFlight * 2, maxExportBatchSize: 128, scheduledDelayMillis: 1000 }),
      ],
      instrumentations: [],
    });
    this.sdk.start();
  }

  /** Builds and queues the spans of a finished request: its own, its backend calls', and their kernel stages. */
  submit(root: SpanRecord): void {
    this.counters.requests++;
    const spans = 1 + root.children.length + countStages(root) + root.children.reduce((n, c) => n + countStages(c), 0);
    if (this.inFlight + spans > this.maxInFlight) {
      this.counters.requestsDropped++;
      return;
    }
    this.inFlight += spans;
    const tracer = trace.getTracer('wireflame');
    const emit = (r: SpanRecord, parent: Context, startNs: number): void => {
      this.ids.traceId = r.traceId;
      this.ids.spanId = r.spanId;
      const span = tracer.startSpan(
        r.name,
        {
          kind: r.kind === 'server' ? SpanKind.SERVER : SpanKind.CLIENT,
          startTime: monoToWall(startNs),
          attributes: { ...r.attributes, ...kernelAttributes(r.kernel, this.hooks) },
        },
        parent,
      );
      if (r.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: r.error });
      const own = trace.setSpan(ROOT_CONTEXT, span);
      for (const stage of stageIntervals(r.kernel, startNs, r.endNs)) {
        this.ids.spanId = newSpanId();
        tracer
          .startSpan(
            stage.name,
            {
              kind: SpanKind.INTERNAL,
              startTime: monoToWall(stage.startNs),
              attributes: { 'wireflame.kernel.stage': stage.stage, 'wireflame.kernel.count': stage.agg.count, 'wireflame.kernel.wait_ns': stage.agg.sumNs },
            },
            own,
          )
          .end(monoToWall(stage.endNs));
      }
      for (const child of r.children) emit(child, own, child.startNs);
      span.end(monoToWall(r.endNs));
    };
    const parent = root.parentSpanId
      ? trace.setSpanContext(ROOT_CONTEXT, { traceId: root.traceId, spanId: root.parentSpanId, traceFlags: 1, isRemote: true })
      : ROOT_CONTEXT;
    emit(root, parent, root.kind === 'server' ? serverStartNs(root) : root.startNs);
  }

  /** Exports what is queued and stops. */
  shutdown(): Promise<void> {
    return this.sdk.shutdown();
  }
}

function countStages(r: SpanRecord): number {
  return stageIntervals(r.kernel, 0, Number.MAX_SAFE_INTEGER).length;
}

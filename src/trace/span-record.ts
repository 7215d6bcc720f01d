/**
 * What Wireflame keeps of every span: cheap plain data, made for 100 % of
 * requests. OpenTelemetry spans are built from it only for the requests that
 * are exported.
 */
import type { StageAgg } from '../kernel/codec.ts';
import type { Stage } from '../kernel/layout.ts';
import type { KernelHold } from './socket-owners.ts';
import type { SampleLabel } from '../profile/connection-timeline.ts';

export type AttributeValue = string | number | boolean;

export interface SpanRecord {
  traceId: string;
  spanId: string;
  /** The caller's span: an incoming traceparent for a server span, the request's span for a client span. */
  parentSpanId: string | undefined;
  kind: 'server' | 'client';
  name: string;
  /** CLOCK_MONOTONIC ns. */
  startNs: number;
  /** CLOCK_MONOTONIC ns; 0 while the span runs. */
  endNs: number;
  attributes: Record<string, AttributeValue>;
  /** The error message when the span failed. */
  error: string | undefined;
  /** Kernel time of the span's own socket; null when it had none or the kernel is off. */
  kernel: Partial<Record<Stage, StageAgg>> | null;
  /** Client spans (backend calls) that ended inside this span. */
  children: SpanRecord[];
  /** Where the kernel keeps this span's time while it runs; null when it owns no socket. */
  hold: KernelHold | null;
  /** A server span's receive waits, parked by the kernel before the span began. */
  parkedRx: StageAgg | null;
  /**
   * What the profiler labels the request's samples with, when it labels
   * them one by one (a request not on an HTTP connection it saw open). The
   * span points at its label and never the other way: the profiler keeps
   * labels alive longer than requests.
   */
  sampleLabel: SampleLabel | null;
}

export function newSpan(
  fields: Pick<SpanRecord, 'traceId' | 'spanId' | 'parentSpanId' | 'kind' | 'name' | 'startNs'>,
): SpanRecord {
  // Field by field, not a spread: one object shape for every span, built for every request.
  return {
    traceId: fields.traceId,
    spanId: fields.spanId,
    parentSpanId: fields.parentSpanId,
    kind: fields.kind,
    name: fields.name,
    startNs: fields.startNs,
    endNs: 0,
    attributes: {},
    error: undefined,
    kernel: null,
    children: [],
    hold: null,
    parkedRx: null,
    sampleLabel: null,
  };
}

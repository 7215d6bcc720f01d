/**
 * An OTLP/gRPC trace receiver for tests: a real grpc-js server speaking the
 * OpenTelemetry protos (from the otlp-protos dev dependency), collecting
 * every span it is sent, flattened with its resource's attributes.
 */
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export type AttrValue = string | number | boolean;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: string;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, AttrValue>;
  status: { code: string; message: string };
  resource: Record<string, AttrValue>;
}

const require = createRequire(import.meta.url);
const PROTO_ROOT = join(dirname(require.resolve('otlp-protos/package.json')), 'build', 'protos');

interface AnyValue {
  stringValue?: string;
  intValue?: string;
  doubleValue?: number;
  boolValue?: boolean;
  value?: string;
}
interface KeyValue {
  key: string;
  value: AnyValue;
}

function attrs(list: KeyValue[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const { key, value } of list ?? []) {
    const v = value?.[(value.value ?? 'stringValue') as keyof AnyValue];
    out[key] = value.value === 'intValue' ? Number(v) : (v as AttrValue);
  }
  return out;
}

export interface OtlpReceiver {
  endpoint: string;
  spans: ReceivedSpan[];
  /** Export calls answered so far. */
  calls: number;
  /** Resolves once `predicate` holds for the spans received, or rejects after `timeoutMs`. */
  waitFor(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

export async function startOtlpReceiver(options: { delayMs?: number } = {}): Promise<OtlpReceiver> {
  const definition = protoLoader.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', {
    includeDirs: [PROTO_ROOT],
    longs: String,
    enums: String,
    oneofs: true,
    defaults: true,
  });
  const proto = grpc.loadPackageDefinition(definition) as unknown as {
    opentelemetry: { proto: { collector: { trace: { v1: { TraceService: grpc.ServiceClientConstructor } } } } };
  };
  const service = proto.opentelemetry.proto.collector.trace.v1.TraceService.service;
  const received: ReceivedSpan[] = [];
  const waiters = new Set<() => void>();
  const state = { calls: 0 };
  const server = new grpc.Server();
  server.addService(service, {
    Export(call: grpc.ServerUnaryCall<{ resourceSpans: unknown[] }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      for (const rs of call.request.resourceSpans as { resource?: { attributes: KeyValue[] }; scopeSpans?: { spans: Record<string, unknown>[] }[]; instrumentationLibrarySpans?: { spans: Record<string, unknown>[] }[] }[]) {
        const resource = attrs(rs.resource?.attributes);
        for (const ss of rs.scopeSpans ?? rs.instrumentationLibrarySpans ?? []) {
          for (const s of ss.spans) {
            const status = (s.status ?? {}) as { code?: string; message?: string };
            received.push({
              traceId: (s.traceId as Buffer).toString('hex'),
              spanId: (s.spanId as Buffer).toString('hex'),
              parentSpanId: (s.parentSpanId as Buffer).toString('hex'),
              name: s.name as string,
              kind: s.kind as string,
              startNs: BigInt(s.startTimeUnixNano as string),
              endNs: BigInt(s.endTimeUnixNano as string),
              attributes: attrs(s.attributes as KeyValue[]),
              status: { code: status.code ?? '', message: status.message ?? '' },
              resource,
            });
          }
        }
      }
      state.calls++;
      for (const w of waiters) w();
      if (options.delayMs) setTimeout(() => callback(null, {}), options.delayMs);
      else callback(null, {});
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans: received,
    get calls() {
      return state.calls;
    },
    async waitFor(predicate, timeoutMs = 15_000) {
      if (predicate(received)) return received;
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), timeoutMs);
      try {
        for (;;) {
          const signal = new Promise<void>((resolve) => {
            const w = () => {
              waiters.delete(w);
              resolve();
            };
            waiters.add(w);
          });
          await Promise.race([signal, once(ac.signal, 'abort').then(() => Promise.reject(new Error(`OTLP receiver: condition not met in ${timeoutMs} ms (${received.length} spans)`)))]);
          if (predicate(received)) return received;
        }
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

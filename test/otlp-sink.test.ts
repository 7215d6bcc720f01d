/**
 * The sink against a real OTLP gRPC receiver: a request's spans are exported
 * after its own callbacks and outside its async context, so the batch that
 * request happened to fill is never serialized inside it, and the profiler
 * never counts that work as the request's CPU.
 */
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { after, test } from 'node:test';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { monoNs } from '../src/trace/clock.ts';
import { OtlpSink } from '../src/trace/otlp-sink.ts';
import { newSpan } from '../src/trace/span-record.ts';
import { TraceId, newSpanId } from '../src/trace/trace-context.ts';
import { startOtlpReceiver } from './helpers/otlp-receiver.ts';

const receiver = await startOtlpReceiver();
after(() => receiver.close());

test('a request that fills a batch is not where the batch is exported', async () => {
  const sink = new OtlpSink({ endpoint: receiver.endpoint });
  const request = new AsyncLocalStorage<string>();
  const contexts: (string | undefined)[] = [];
  const realExport = OTLPTraceExporter.prototype.export;
  OTLPTraceExporter.prototype.export = function (spans, done) {
    contexts.push(request.getStore());
    realExport.call(this, spans, done);
  };
  try {
    // More than a batch (128 spans): the processor exports in the call that fills one.
    const count = 300;
    for (let i = 0; i < count; i++) {
      request.run(`request ${i}`, () => {
        const span = newSpan({ traceId: TraceId.random().toHex(), spanId: newSpanId(), parentSpanId: undefined, kind: 'server', name: `GET /${i}`, startNs: monoNs() });
        span.endNs = monoNs();
        sink.submit(span);
      });
    }
    assert.equal(contexts.length, 0, 'nothing is exported while the requests run');
    await receiver.waitFor((spans) => spans.filter((s) => s.name.startsWith('GET /')).length === count);
    assert.ok(contexts.length >= 2, `a full batch went out before the rest: ${contexts.length} exports`);
    assert.deepEqual(contexts.filter((c) => c !== undefined), [], 'every export ran outside the requests');
  } finally {
    OTLPTraceExporter.prototype.export = realExport;
    await sink.shutdown();
  }
});

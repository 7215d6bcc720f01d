/**
 * What one exported request costs the service's thread: its span records
 * turned into the SDK's spans, batched, serialized to OTLP protobuf and sent
 * over gRPC, with and without its kernel stages' child spans. The collector
 * is a gRPC server in another process that acknowledges without decoding, so
 * the figures are the sender's alone (this process's CPU time, less that of
 * the same loop without export).
 *
 * Set against a traced request's own cost (bench/request-path.ts, about
 * 1 us), this is why the ratio of ordinary requests exported is also held to
 * a rate (WIREFLAME_EXPORT_RATE).
 *
 *   node bench/export-cost.ts [--requests 40000] [--rounds 3]
 */
import { parseArgs } from 'node:util';
import type { StageAgg } from '../src/kernel/codec.ts';
import { monoNs } from '../src/trace/clock.ts';
import { OtlpSink } from '../src/trace/otlp-sink.ts';
import { newSpan, type SpanRecord } from '../src/trace/span-record.ts';
import { TraceId, newSpanId } from '../src/trace/trace-context.ts';
import { startNullCollector } from './lib/collector.ts';
import { median } from './lib/wrk.ts';

const { values } = parseArgs({
  options: { requests: { type: 'string', default: '40000' }, rounds: { type: 'string', default: '3' } },
});

const collector = await startNullCollector();
const sink = new OtlpSink({ endpoint: collector.endpoint, maxInFlight: 1_000_000, hooks: 'tcp_sendmsg=tp_btf,ip_local_out=tp_btf,dev_xmit=tp_btf,rx_ready=tracepoint,rx_read=tracepoint' });
const requests = Number(values.requests);

const stage = (firstNs: number, ns: number, bytes: number): StageAgg => ({ sumNs: ns, maxNs: ns, count: 1, bytes, firstNs, lastNs: firstNs + ns });
/** A GET request as the hello target serves it, and what the kernel saw of it on loopback. */
const request = (withKernel: boolean): SpanRecord => {
  const t = monoNs();
  const span = newSpan({ traceId: TraceId.random().toHex(), spanId: newSpanId(), parentSpanId: undefined, kind: 'server', name: 'GET /', startNs: t });
  span.endNs = t + 60_000;
  span.attributes = { 'http.request.method': 'GET', 'url.path': '/', 'http.route': '/', 'http.response.status_code': 200 };
  if (withKernel) {
    // The response left in one piece (its first byte's send is its whole send), through a device
    // without a queue (no time there): the stages that get child spans are the receive queue and the send.
    span.kernel = { rx_queue: stage(t - 8_000, 8_000, 0), tx_first: stage(t + 40_000, 7_000, 0), tx_send: stage(t + 40_000, 7_000, 190), dev_queue: stage(t + 47_000, 0, 256) };
  }
  return span;
};

/** CPU per request of the loop; `submit` false: the same loop and pacing without export, the baseline. */
const loop = async (withKernel: boolean, submit: boolean): Promise<number> => {
  const before = process.cpuUsage();
  for (let i = 0; i < requests; i++) {
    const r = request(withKernel);
    if (submit) sink.submit(r);
    // About 10 000 exported requests a second, each export batch on the wire before the next: a
    // faster feed only grows the processor's backlog, which costs more per span (its batches are
    // spliced off the front of one array).
    if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / requests;
};
const cost = async (withKernel: boolean): Promise<number> => (await loop(withKernel, true)) - (await loop(withKernel, false));

const plain: number[] = [];
const kernel: number[] = [];
await cost(true); // JIT warm-up
const spansBefore = sink.counters.spansExported;
kernel.push(await cost(true));
const spansPerRequest = (sink.counters.spansExported - spansBefore) / requests;
for (let i = 0; i < Number(values.rounds); i++) {
  plain.push(await cost(false));
  if (i > 0) kernel.push(await cost(true));
}
await sink.shutdown();
await collector.stop();
const fmt = (xs: number[]) => `${median(xs).toFixed(1)} us  [${xs.map((x) => x.toFixed(1)).join(', ')}]`;
console.log(`${requests} exported requests a round, CPU of the service's thread, medians of ${values.rounds} rounds`);
console.log(`server span alone:                  ${fmt(plain)}`);
console.log(`server span and its kernel stages' spans (${spansPerRequest.toFixed(1)} spans a request): ${fmt(kernel)}`);
console.log(`sink: ${sink.counters.spansExported} spans exported, ${sink.counters.spansFailed} failed, ${sink.counters.requestsDropped} requests dropped`);

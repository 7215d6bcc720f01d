/**
 * How long fusing a run takes, and what it holds: a 60 s run at 10k req/s
 * (600 000 requests on 4 routes, each with a Redis and a PostgreSQL call and
 * kernel stages) and 100 Hz samples with 30-frame stacks go through the same
 * per-route totals and writer as a real run. Prints the time to record the
 * requests, the time to write every output, and the heap growth.
 *
 *   node --expose-gc bench/fusion-time.ts [--requests 600000]
 */
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { StageAgg } from '../src/kernel/codec.ts';
import type { CpuSample } from '../src/profile/fuse.ts';
import { RouteStats } from '../src/profile/route-stats.ts';
import { writeProfiles } from '../src/profile/write-profiles.ts';
import { newSpan, type SpanRecord } from '../src/trace/span-record.ts';
import { scratchDir } from '../src/util/scratch-dir.ts';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '600000' } } });
const requests = Number(values.requests);
const ROUTES = ['GET /v1/data/:id', 'POST /v1/data', 'GET /v1/users/:id', 'GET /healthz'];
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

const agg = (ns: number, at: number): StageAgg => ({
  sumNs: ns, maxNs: ns, count: 1, bytes: 200, firstNs: at, lastNs: at + ns,
});

function request(i: number): SpanRecord {
  const start = i * 100_000;
  const span = newSpan({ traceId: 'a'.repeat(32), spanId: i.toString(16).padStart(16, '0'), parentSpanId: undefined, kind: 'server', name: ROUTES[i % 4]!, startNs: start });
  span.endNs = start + 2_000_000 + (i % 97) * 10_000;
  span.kernel = { rx_queue: agg(40_000, start), tx_send: agg(8_000, span.endNs - 8_000), dev_queue: agg(0, 0) };
  for (const name of ['redis GET', 'pg INSERT']) {
    const c = newSpan({ traceId: span.traceId, spanId: '1'.repeat(16), parentSpanId: span.spanId, kind: 'client', name, startNs: start + 100_000 });
    c.endNs = c.startNs + 400_000;
    c.kernel = { tx_send: agg(5_000, c.startNs), peer_wait: agg(300_000, c.startNs), rx_queue: agg(20_000, c.startNs + 300_000) };
    span.children.push(c);
  }
  return span;
}

const samples: CpuSample[] = Array.from({ length: 6000 }, (_, i) => ({
  stack: Array.from({ length: 30 }, (_, d) => ({ name: `fn${d}_${(i + d) % 40}`, kind: 'cpu' as const, file: `/app/src/m${d}.js`, line: d })),
  wallNs: 10_000_000,
  cpuNs: 9_000_000,
  route: ROUTES[i % 4],
  spanId: (i * 100).toString(16).padStart(16, '0'),
}));

gc();
const heapBefore = process.memoryUsage().heapUsed;
const stats = new RouteStats();
let t = performance.now();
for (let i = 0; i < requests; i++) stats.record(request(i));
const recordMs = performance.now() - t;
gc();
const heapAfterRecording = process.memoryUsage().heapUsed;
const dir = scratchDir('wf-bench-fusion-');
t = performance.now();
const written = writeProfiles(dir, { service: 'bench', result: { samples, heap: null, startNanos: 0, durationNanos: 60e9 }, stats, kernelOff: null });
const writeMs = performance.now() - t;
console.log(`${requests} requests on ${ROUTES.length} routes, 2 backend calls each; ${samples.length} samples of 30 frames`);
console.log(`recording every request into per-route totals: ${recordMs.toFixed(0)} ms (${((recordMs * 1e6) / requests).toFixed(0)} ns per request)`);
console.log(`fusing and writing every output: ${writeMs.toFixed(0)} ms (target < 2000 ms)`);
console.log(`heap held by the totals after ${requests} requests: ${((heapAfterRecording - heapBefore) / 1024).toFixed(0)} KiB (bounded: per route and backend operation, plus 5 slowest requests)`);
for (const f of written.files) console.log(`  ${f.slice(dir.length + 1).padEnd(14)} ${(statSync(f).size / 1024).toFixed(0)} KiB`);

/**
 * Profile samples are labelled with the request they ran for when the
 * profiler labels each connection once: two routes take turns on one real
 * keep-alive connection, the profile is collected several times meanwhile,
 * and every sample in the CPU-burning function names a burning request.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { test } from 'node:test';
import { Agent, request } from 'undici';
import { RequestProfiler } from '../src/profile/profiler.ts';
import { ExportSampler } from '../src/trace/export-sampler.ts';
import { instrumentHttpServer } from '../src/trace/instrument/http-server.ts';
import { Tracer } from '../src/trace/tracer.ts';

function burnLabelled(ms: number): number {
  let x = 0;
  for (const end = performance.now() + ms; performance.now() < end; ) x += Math.sqrt(x + 1);
  return x;
}

test('samples name their own request on a shared keep-alive connection, across collections', async () => {
  const profiler = new RequestProfiler({ intervalMicros: 1000, heapIntervalBytes: 0, collectEveryMs: 150 });
  const tracer = new Tracer({ owners: null, sink: null, sampler: new ExportSampler({ ratio: 0, tailQuantile: 0.99 }), labels: profiler });
  const routeOf = new Map<string, string>();
  tracer.onFinish((span) => routeOf.set(span.spanId, span.name));
  instrumentHttpServer(tracer);
  profiler.start();

  const server = http.createServer((req, res) => {
    const burning = req.url === '/burn';
    if (burning) tracer.rename(tracer.current()!, 'GET /burn');
    // The idle route answers later, from a timer: its callbacks still belong to it.
    if (burning) res.end(String(burnLabelled(5)));
    else setTimeout(() => res.end('idle'), 2);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const dispatcher = new Agent({ connections: 1 });
  for (let i = 0; i < 80; i++) {
    await (await request(`${url}/burn`, { dispatcher })).body.dump();
    await (await request(`${url}/idle`, { dispatcher })).body.dump();
  }
  await dispatcher.close();
  server.close();
  const { samples } = profiler.stop();

  const burning = samples.filter((s) => s.stack.some((f) => f.name === 'burnLabelled'));
  assert.ok(burning.length > 100, `${burning.length} samples in the burning function (80 requests of 5 ms at 1 kHz)`);
  const wrong = burning.filter((s) => s.route !== 'GET /burn' || routeOf.get(s.spanId ?? '') !== 'GET /burn');
  assert.ok(wrong.length <= burning.length * 0.02, `${wrong.length} of ${burning.length} burning samples name another request: ${JSON.stringify(wrong.slice(0, 3).map((s) => [s.route, s.spanId]))}`);
  const spans = new Set(burning.map((s) => s.spanId));
  assert.ok(spans.size > 40, `the burning samples spread over ${spans.size} of the 80 burning requests`);
});

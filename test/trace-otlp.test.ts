/**
 * A fastify service that reads Redis and writes PostgreSQL on each request,
 * run under the register entry with no tracing code, driven by a real HTTP
 * client; a real OTLP/gRPC receiver checks what arrives.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Agent, request } from 'undici';
import { startPostgres } from '../src/load/backends/postgres.ts';
import { startRedis } from '../src/load/backends/redis.ts';
import type { Backend } from '../src/load/backends/child.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './helpers/otlp-receiver.ts';
import { fixture, startTracedService, type TracedService } from './helpers/service.ts';

let redis: Backend;
let postgres: Backend;
let receiver: OtlpReceiver;
let service: TracedService;

before(async () => {
  [redis, postgres, receiver] = await Promise.all([startRedis(), startPostgres(), startOtlpReceiver()]);
  service = await startTracedService(fixture('traced-service.ts'), {
    WIREFLAME_REDIS_URL: redis.url,
    WIREFLAME_PG_URL: postgres.url,
    WIREFLAME_OTLP_ENDPOINT: receiver.endpoint,
    WIREFLAME_EXPORT_RATIO: '1',
    WIREFLAME_EXPORT_RATE: '0',
    WIREFLAME_KERNEL: 'self',
    OTEL_SERVICE_NAME: 'visits',
  });
});

after(async () => {
  await service?.stop();
  await Promise.all([receiver?.close(), redis?.stop(), postgres?.stop()]);
});

const isKernel = (s: ReceivedSpan) => s.name.startsWith('[kernel]');
const within = (child: ReceivedSpan, parent: ReceivedSpan) => child.startNs >= parent.startNs && child.endNs <= parent.endNs;

test('server, Redis and PostgreSQL spans arrive with their own kernel stages inside their bounds', async () => {
  const dispatcher = new Agent({ connections: 1 });
  const requests = 20;
  for (let i = 0; i < requests; i++) {
    const res = await request(`${service.url}/visit/${100 + i}`, { dispatcher });
    assert.equal(res.statusCode, 200);
    assert.equal((await res.body.text()).length, 100 + i);
  }
  await dispatcher.close();
  const spans = await receiver.waitFor((all) => all.filter((s) => s.kind === 'SPAN_KIND_SERVER').length >= requests);
  const servers = spans.filter((s) => s.kind === 'SPAN_KIND_SERVER');
  assert.equal(servers.length, requests, 'one server span per request');
  for (const server of servers) {
    assert.equal(server.name, 'GET /visit/:n');
    assert.equal(server.resource['service.name'], 'visits');
    const children = spans.filter((s) => s.parentSpanId === server.spanId);
    const redisSpan = children.find((s) => s.name === 'redis GET');
    const pgSpan = children.find((s) => s.name === 'pg INSERT');
    assert.ok(redisSpan && pgSpan, `backend spans under ${server.name}: ${children.map((c) => c.name).join(', ')}`);
    assert.equal(redisSpan.traceId, server.traceId);

    // The server's own socket: the request waited in the receive queue, the response went through TCP.
    assert.ok(Number(server.attributes['wireflame.kernel.rx_queue.count']) >= 1, `server span has a receive-queue wait: ${JSON.stringify(server.attributes)}`);
    assert.ok(Number(server.attributes['wireflame.kernel.tx_send.bytes']) > 100, 'server span has its transmitted bytes');
    const serverStages = children.filter(isKernel);
    assert.ok(serverStages.some((s) => s.name === '[kernel] receive queue'));
    assert.ok(serverStages.some((s) => s.name === '[kernel] tcp send queue'));
    for (const stage of serverStages) assert.ok(within(stage, server), `${stage.name} inside the server span`);

    // Each backend call: its command went out on its own socket and the peer's answer was waited for.
    for (const client of [redisSpan, pgSpan]) {
      assert.ok(Number(client.attributes['wireflame.kernel.tx_send.count']) >= 1, `${client.name} has a send stage`);
      assert.ok(Number(client.attributes['wireflame.kernel.peer_wait.count']) >= 1, `${client.name} has a peer wait`);
      const stages = spans.filter((s) => s.parentSpanId === client.spanId);
      assert.ok(stages.length > 0 && stages.every(isKernel), `${client.name} has kernel child spans`);
      for (const stage of stages) assert.ok(within(stage, client), `${stage.name} inside ${client.name}`);
      assert.ok(within(client, server), `${client.name} inside the server span`);
    }
  }
});

test('200 concurrent keep-alive requests: each span carries its own response bytes, none of another', async () => {
  const dispatcher = new Agent({ connections: 20, pipelining: 1 });
  const sizes = Array.from({ length: 200 }, (_, i) => 500 + i * 1013);
  const before = receiver.spans.length;
  const bodies = await Promise.all(
    sizes.map(async (n) => {
      const res = await request(`${service.url}/bytes/${n}`, { dispatcher });
      return (await res.body.text()).length;
    }),
  );
  await dispatcher.close();
  assert.deepEqual(bodies, sizes);
  const isBytes = (s: ReceivedSpan) => s.kind === 'SPAN_KIND_SERVER' && String(s.attributes['url.path']).startsWith('/bytes/');
  const spans = await receiver.waitFor((all) => all.slice(before).filter(isBytes).length >= sizes.length);
  const servers = spans.slice(before).filter(isBytes);
  assert.equal(servers.length, sizes.length);
  // What a response sends beyond its body is its status line and headers,
  // the same length for every size but for the digits of content-length. A
  // span that took another response's bytes would be off by at least 1013.
  const headerBytes = servers.map((s) => {
    const n = String(s.attributes['url.path']).slice('/bytes/'.length);
    return Number(s.attributes['wireflame.kernel.tx_send.bytes']) - Number(n) - n.length;
  });
  const missing = servers.filter((s) => !(Number(s.attributes["wireflame.kernel.tx_send.bytes"]) > 0));
  assert.equal(missing.length, 0, `spans without transmitted bytes: ${JSON.stringify(missing.slice(0, 3).map((s) => s.attributes))}`);
  assert.ok(Math.min(...headerBytes) > 50, `header bytes ${Math.min(...headerBytes)}`);
  assert.ok(Math.max(...headerBytes) === Math.min(...headerBytes), `header bytes range ${Math.min(...headerBytes)}..${Math.max(...headerBytes)}`);
  // And what each request sent: its request line differs only in the path.
  const requestBytes = servers.map((s) => Number(s.attributes['wireflame.kernel.rx_queue.bytes']) - String(s.attributes['url.path']).length);
  assert.ok(Math.max(...requestBytes) - Math.min(...requestBytes) === 0, `request bytes beyond the path: ${[...new Set(requestBytes)].join(', ')}`);
});

/**
 * Export and kernel faults never reach the service: a collector that is down
 * or slow costs counted drops, not latency or crashes; without kernel access
 * the service is still traced and says once why kernel stages are off.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Agent, request } from 'undici';
import { freePort } from '../src/load/backends/free-port.ts';
import { startPostgres } from '../src/load/backends/postgres.ts';
import { startRedis } from '../src/load/backends/redis.ts';
import type { Backend } from '../src/load/backends/child.ts';
import { startOtlpReceiver } from './helpers/otlp-receiver.ts';
import { NOBODY, fixture, nobodyCanRun, startTracedService } from './helpers/service.ts';

let redis: Backend;
let postgres: Backend;

before(async () => {
  [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
});
after(async () => {
  await Promise.all([redis?.stop(), postgres?.stop()]);
});

const backends = () => ({ WIREFLAME_REDIS_URL: redis.url, WIREFLAME_PG_URL: postgres.url });

/** Sends `count` requests over 4 keep-alive connections; returns the statuses and the wall time. */
async function drive(url: string, count: number): Promise<{ statuses: number[]; ms: number }> {
  const dispatcher = new Agent({ connections: 4 });
  const started = performance.now();
  const statuses = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const res = await request(`${url}/visit/${i}`, { dispatcher });
      await res.body.dump();
      return res.statusCode;
    }),
  );
  const ms = performance.now() - started;
  await dispatcher.close();
  return { statuses, ms };
}

interface Summary {
  requests: number;
  exported: number;
  failed: number;
  dropped: number;
  /** Where the slow tail began, in ms, and at which running percentile. */
  tail: { ms: number; percentile: number };
}

function summary(stderr: string): Summary {
  const m = /traced (\d+) requests .* exported (\d+) spans, (\d+) failed, (\d+) requests dropped .*; slow tail: slower than ([\d.]+) ms, the running p([\d.]+)/.exec(stderr);
  assert.ok(m, `a summary line in: ${stderr}`);
  return {
    requests: Number(m[1]),
    exported: Number(m[2]),
    failed: Number(m[3]),
    dropped: Number(m[4]),
    tail: { ms: Number(m[5]), percentile: Number(m[6]) },
  };
}

test('a collector that is down: every request is served, export failures and drops are counted', async () => {
  const service = await startTracedService(fixture('traced-service.ts'), {
    ...backends(),
    WIREFLAME_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
    WIREFLAME_EXPORT_RATIO: '1',
    WIREFLAME_EXPORT_RATE: '0',
    WIREFLAME_EXPORT_MAX_IN_FLIGHT: '100',
    WIREFLAME_KERNEL: 'self',
  });
  const { statuses } = await drive(service.url, 300);
  assert.ok(statuses.every((s) => s === 200));
  await new Promise((r) => setTimeout(r, 1500)); // one export attempt at least
  await service.stop();
  const s = summary(service.stderr());
  assert.equal(s.requests, 300);
  assert.equal(s.exported, 0);
  assert.ok(s.failed > 0, 'the failed export is counted');
  assert.ok(s.dropped > 0, 'requests past the in-flight cap are dropped and counted');
  // One threshold, at the 100th request, before any rate was measured: the quantile asked for.
  assert.equal(s.tail.percentile, 99);
  assert.ok(s.tail.ms > 0, `tail threshold ${s.tail.ms} ms`);
});

test('a collector that answers slowly: the backlog stays capped and the service does not wait for it', async () => {
  const receiver = await startOtlpReceiver({ delayMs: 3000 });
  const service = await startTracedService(fixture('traced-service.ts'), {
    ...backends(),
    WIREFLAME_OTLP_ENDPOINT: receiver.endpoint,
    WIREFLAME_EXPORT_RATIO: '1',
    WIREFLAME_EXPORT_RATE: '0',
    WIREFLAME_EXPORT_MAX_IN_FLIGHT: '60',
    WIREFLAME_KERNEL: 'self',
  });
  const first = await drive(service.url, 50);
  const { statuses, ms } = await drive(service.url, 300);
  assert.ok(first.statuses.concat(statuses).every((s) => s === 200));
  // 300 requests take well under a second here; waiting on a 3 s collector would take many.
  assert.ok(ms < 2500, `300 requests took ${Math.round(ms)} ms`);
  await service.stop();
  await receiver.close();
  const s = summary(service.stderr());
  assert.ok(s.dropped > 0, 'requests beyond the cap are dropped and counted');
});

test('without kernel access the service is traced and says once that kernel stages are off', async (t) => {
  const receiver = await startOtlpReceiver();
  const script = fixture('traced-service.ts');
  const asNobody = nobodyCanRun(script);
  if (!asNobody) t.diagnostic('the checkout is not readable by nobody: run as root with WIREFLAME_KERNEL=agent and no agent instead');
  const service = await startTracedService(
    script,
    {
      ...backends(),
      WIREFLAME_OTLP_ENDPOINT: receiver.endpoint,
      WIREFLAME_EXPORT_RATIO: '1',
      WIREFLAME_EXPORT_RATE: '0',
      WIREFLAME_PIN_DIR: `/sys/fs/bpf/wireflame-none-${process.pid}`,
      WIREFLAME_KERNEL: asNobody ? 'auto' : 'agent',
    },
    asNobody ? NOBODY : {},
  );
  await drive(service.url, 10);
  const spans = await receiver.waitFor((all) => all.filter((s) => s.kind === 'SPAN_KIND_SERVER').length >= 10);
  await service.stop();
  await receiver.close();
  const offLines = service.stderr().split('\n').filter((l) => l.includes('kernel stages off'));
  assert.equal(offLines.length, 1, service.stderr());
  assert.match(offLines[0]!, /^wireflame: kernel stages off: /);
  for (const span of spans) assert.ok(!Object.keys(span.attributes).some((k) => k.startsWith('wireflame.kernel.')));
  assert.equal(spans.filter((s) => s.name === 'redis GET').length, 10, 'backend spans are still there');
});

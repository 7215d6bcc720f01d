// Every scenario against real servers the run starts itself (throw-away
// redis-server and PostgreSQL on free ports), and backends that fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { startRedis } from '../src/load/backends/redis.ts';
import { assertValidResult } from '../src/report/build-result.ts';
import type { RunResult } from '../src/report/result-schema.ts';
import { wireflame } from './helpers/cli.ts';
import { scratchDir } from '../src/util/scratch-dir.ts';

const tmp = () => scratchDir('wireflame-scenario-');

async function runScenario(scenario: string, extra: string[] = []): Promise<RunResult> {
  const r = await wireflame(['run', '--scenario', scenario, '--duration', '2s', '--warmup', '500ms', '--rate', '200', '--json', '--out', tmp(), ...extra]);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as RunResult;
  assertValidResult(result);
  return result;
}

function assertConsistent(result: RunResult): void {
  assert.ok(Math.abs(result.requests_total - 400) <= 8, `requests ${result.requests_total}`);
  assert.ok(Math.abs(result.tps_avg - result.requests_total / result.duration_sec) < 1, 'tps_avg = requests / duration');
  assert.equal(result.errors_total, 0, JSON.stringify(result.errors_by_kind));
  assert.ok(result.latency_p50_ms > 0 && result.latency_p50_ms <= result.latency_p99_ms);
  assert.equal(result.kernel.available, true, result.kernel.reason);
}

for (const scenario of ['redis-read-heavy', 'pg-write-heavy', 'api-mixed']) {
  test(`${scenario}: a run against throw-away servers, with the serving processes observed`, async () => {
    const result = await runScenario(scenario);
    assert.equal(result.scenario, scenario);
    assertConsistent(result);
    const rx = result.kernel.stages.rx_queue!;
    // Every request's bytes were read by an observed process; api-mixed reads its backends' answers too.
    const perRequest = scenario === 'api-mixed' ? 2 : 1;
    assert.ok(rx.count >= result.requests_total * perRequest * 0.95, `rx_queue ${rx.count} for ${result.requests_total} requests`);
    assert.ok(rx.p99_us < 1_000_000, 'no stale wait from before the run');
  });
}

test('a backend that dies mid-run: errors are counted and the run finishes', async () => {
  const redis = await startRedis();
  // Kill it halfway: once the run has served about 300 of its 600 commands beyond the 10k-key preload.
  const watcher = new Redis(redis.url);
  const killer = setInterval(async () => {
    const stats = await watcher.info('stats').catch(() => '');
    const processed = Number(/total_commands_processed:(\d+)/.exec(stats)?.[1] ?? 0);
    if (processed > 10_300) {
      clearInterval(killer);
      watcher.disconnect();
      await redis.stop();
    }
  }, 50);
  const r = await wireflame(['run', '--scenario', 'redis-read-heavy', '--redis-url', redis.url, '--duration', '3s', '--warmup', '0', '--rate', '200', '--json', '--out', tmp()]);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as RunResult;
  assert.ok(result.errors_total > 50, `errors ${result.errors_total}`);
  clearInterval(killer);
  watcher.disconnect();
  await redis.stop();
  assert.ok(result.requests_total - result.errors_total >= 150, `${result.requests_total - result.errors_total} succeeded before the kill`);
  assert.ok(result.error_rate_pct > 10);
  assert.equal(result.verdict.status, 'errors');
  assert.equal(result.kernel.available, false, 'an external Redis is not observed');
});

test('backend URLs that are wrong or unreachable: one line, exit 2', async () => {
  const cases: [string[], RegExp][] = [
    [['--scenario', 'redis-read-heavy', '--redis-url', 'redis://127.0.0.1:1'], /^wireflame: --redis-url: Redis at redis:\/\/127\.0\.0\.1:1 is unreachable \(ECONNREFUSED\)$/],
    [['--scenario', 'pg-write-heavy', '--pg-url', 'postgres://x@127.0.0.1:1/db'], /^wireflame: --pg-url: PostgreSQL at .* is unreachable \(ECONNREFUSED\)$/],
    [['--scenario', 'pg-write-heavy', '--pg-url', 'mysql://h/db'], /^wireflame: --pg-url: expected postgres: or postgresql:\/\/\.\.\., not mysql:$/],
    [['--scenario', 'redis-read-heavy', '--target', 'http://127.0.0.1:1'], /^wireflame: --target: scenario redis-read-heavy drives no HTTP service$/],
  ];
  for (const [args, message] of cases) {
    const r = await wireflame(['run', '--duration', '1s', '--out', tmp(), ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr.trim(), message);
  }
});

test('http-get: every request asks for the --target URL as given, path and query included', async () => {
  const app = Fastify();
  const asked = new Map<string, number>();
  app.get('/*', async (req) => {
    asked.set(req.url, (asked.get(req.url) ?? 0) + 1);
    return { ok: true };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  try {
    const result = await runScenario('http-get', ['--target', `http://127.0.0.1:${port}/probe/x?q=a%20b`]);
    assert.equal(result.errors_total, 0, JSON.stringify(result.errors_by_kind));
    assert.ok(Math.abs(result.requests_total - 400) <= 8, `requests ${result.requests_total}`);
    // The reachability check and the warm-up ask too; nothing asks for anything else.
    assert.deepEqual([...asked.keys()], ['/probe/x?q=a%20b']);
    assert.ok(asked.get('/probe/x?q=a%20b')! >= result.requests_total);
  } finally {
    await app.close();
  }
});

test('http-get against the embedded target: its / answers', async () => {
  const result = await runScenario('http-get');
  assert.equal(result.scenario, 'http-get');
  assertConsistent(result);
});

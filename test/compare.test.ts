// Comparing runs: a real change is called, sampling noise is not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kernelOff } from '../src/kernel/observer.ts';
import { Latency } from '../src/load/latency.ts';
import { buildResult } from '../src/report/build-result.ts';
import { compareRuns } from '../src/report/compare.ts';
import type { RunResult } from '../src/report/result-schema.ts';
import { wireflame } from './helpers/cli.ts';
import { scratchDir } from '../src/util/scratch-dir.ts';

/** Deterministic pseudo-random numbers, so the samples are the same on every run. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A result whose latencies are exponential with the given mean (ms), plus `errors` failures. */
function result(seed: number, meanMs: number, n = 20_000, errors = 0): RunResult {
  const latency = new Latency();
  const rand = rng(seed);
  for (let i = 0; i < n; i++) latency.recordNs(-Math.log(1 - rand()) * meanMs * 1e6);
  return buildResult({
    scenario: 'http-json-api',
    startedAt: new Date('2026-01-01T00:00:00Z'),
    endedAt: new Date('2026-01-01T00:00:20Z'),
    target: { url: 'http://127.0.0.1:1', embedded: true },
    pacing: { mode: 'open', rate: n / 20, connections: 64 },
    warmupMs: 0,
    load: {
      requests: n,
      errors,
      errorKinds: errors ? { 'http 500': errors } : {},
      latency,
      measuredMs: 20_000,
      interrupted: false,
      unanswered: 0,
      generator: { cpuPct: 20, sendLagP99Ms: 0.1, saturated: false, stealPct: null },
    },
    kernel: kernelOff('test').finish(),
    host: { cpu_model: 'test', cores: 2, memory_bytes: 1, kernel: 'test', os: 'test', nics: [] },
    cloud: { provider: 'none' },
  });
}

const byMetric = (rows: ReturnType<typeof compareRuns>) => Object.fromEntries(rows.map((r) => [r.metric, r]));

test('two samples of the same distribution are within noise', () => {
  const rows = byMetric(compareRuns([result(1, 2)], [result(2, 2)]));
  for (const m of ['latency_p50_ms', 'latency_p95_ms', 'latency_p99_ms', 'tps_avg', 'error_rate_pct'] as const) {
    assert.equal(rows[m]?.finding, 'within noise', `${m}: ${JSON.stringify(rows[m])}`);
  }
  assert.equal(rows.latency_p50_ms?.test, 'sample intervals');
});

test('latency doubled is a regression; halved, an improvement; errors appearing, a regression', () => {
  const worse = byMetric(compareRuns([result(1, 2)], [result(2, 4, 20_000, 400)]));
  assert.equal(worse.latency_p99_ms?.finding, 'regression');
  assert.ok(worse.latency_p99_ms!.delta_pct! > 80);
  assert.equal(worse.error_rate_pct?.finding, 'regression');
  const better = byMetric(compareRuns([result(1, 4)], [result(2, 2)]));
  assert.equal(better.latency_p50_ms?.finding, 'improvement');
});

test('a small but significant change below --min-change is not called', () => {
  const rows = byMetric(compareRuns([result(1, 2, 200_000)], [result(2, 2.08, 200_000)], 5));
  assert.equal(rows.latency_p50_ms?.finding, 'within noise', JSON.stringify(rows.latency_p50_ms));
  assert.equal(byMetric(compareRuns([result(1, 2, 200_000)], [result(2, 2.08, 200_000)], 1)).latency_p50_ms?.finding, 'regression');
});

test("with repeated runs the runs' own spread is the noise", () => {
  const rows = byMetric(compareRuns([result(1, 2), result(3, 2.6)], [result(2, 2.3), result(4, 2.4)]));
  assert.equal(rows.latency_p50_ms?.test, 'run ranges');
  assert.equal(rows.latency_p50_ms?.finding, 'within noise');
  const moved = byMetric(compareRuns([result(1, 2), result(3, 2.1)], [result(2, 3), result(4, 3.2)]));
  assert.equal(moved.latency_p50_ms?.finding, 'regression');
});

test('the CLI: exit 1 on a regression, 0 otherwise, 2 on a file that is not a result', async () => {
  const dir = scratchDir('wf-compare-');
  const file = (name: string, value: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
    return path;
  };
  const base = file('base.json', result(1, 2));
  const same = file('same.json', result(2, 2));
  const slow = file('slow.json', result(3, 5));

  const ok = await wireflame(['compare', base, same]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /latency_p99_ms .* within noise/);

  const bad = await wireflame(['compare', base, slow, '--json']);
  assert.equal(bad.code, 1);
  const rows = JSON.parse(bad.stdout) as { metric: string; finding: string }[];
  assert.equal(rows.find((r) => r.metric === 'latency_p99_ms')?.finding, 'regression');

  const notResult = await wireflame(['compare', base, file('x.json', { scenario: 'x' })]);
  assert.equal(notResult.code, 2);
  assert.match(notResult.stderr.trim(), /^wireflame: .*x\.json is not a wireflame result: at \/.*$/);
  const missing = await wireflame(['compare', base, join(dir, 'nope.json')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr.trim(), /^wireflame: cannot read .*nope\.json \(ENOENT\)$/);
});

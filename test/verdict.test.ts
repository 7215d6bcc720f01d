// The verdict names only measured causes, ranks them, and calls a clean run clean.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judge, type VerdictInput } from '../src/report/verdict.ts';
import type { StageSummary } from '../src/kernel/stage-summary.ts';
import { BACKLOG_ERROR } from '../src/load/generator.ts';

const stage = (total_ms: number, count = 1000, p99_us = 50): StageSummary => ({
  count,
  total_ms,
  mean_us: count ? (total_ms * 1000) / count : 0,
  p50_us: 8,
  p99_us,
  max_us: p99_us * 2,
});
const quiet = { rx_queue: stage(1), tx_first: stage(0.5), tx_send: stage(0.5), dev_queue: stage(0), peer_wait: stage(0, 0) };
const base: VerdictInput = {
  latency: { count: 10000, p50_ms: 1, p95_ms: 1.5, p99_ms: 2, p999_ms: 3, max_ms: 5, mean_ms: 1.1 },
  requests: 10000,
  errorRatePct: 0,
  errorKinds: {},
  generator: { saturated: false, cpuPct: 30, sendLagP99Ms: 0.2, stealPct: 0.3 },
  kernel: quiet,
  peers: [],
  profile: null,
};

test('a clean run is called clean, with no invented cause', () => {
  const v = judge(base);
  assert.equal(v.status, 'clean');
  assert.deepEqual(v.causes, []);
  assert.match(v.summary, /nothing stands out/);
  // 15 % of request time in the receive queue is the normal cost of an event loop, not a cause
  const normal = judge({ ...base, kernel: { ...quiet, rx_queue: stage(1650, 10000) } });
  assert.equal(normal.status, 'clean');
  assert.deepEqual(normal.causes, []);
});

test('receive-queue wait that explains most request time is the top cause', () => {
  // 10000 requests x 30 ms mean = 300 s of request time; 240 s of it in the receive queue
  const v = judge({
    ...base,
    latency: { ...base.latency, p50_ms: 20, p99_ms: 64, mean_ms: 30 },
    kernel: { ...quiet, rx_queue: stage(240_000, 10000, 64_000), tx_send: stage(9_000, 10000) },
  });
  assert.equal(v.status, 'slow');
  assert.equal(v.causes[0]?.cause, 'event-loop blocking (receive-queue wait)');
  assert.equal(v.causes[0]?.share_pct, 80);
  assert.equal(v.causes.length, 1, 'the send path at 3 % is below the bar');
  assert.match(v.summary, /event-loop blocking .* 80\.0 %/);
});

test('a backend that holds every request is named, with its share', () => {
  // 10000 requests x 60 ms = 600 s; 500 s of it waiting for PostgreSQL, 20 s for Redis
  const v = judge({
    ...base,
    latency: { ...base.latency, p50_ms: 55, p99_ms: 80, mean_ms: 60 },
    peers: [
      { address: '127.0.0.1', port: 5432, service: 'postgresql', count: 10000, total_ms: 500_000, mean_ms: 50, max_ms: 70 },
      { address: '127.0.0.1', port: 6379, service: 'redis', count: 20000, total_ms: 20_000, mean_ms: 1, max_ms: 3 },
    ],
  });
  assert.equal(v.status, 'slow');
  assert.equal(v.causes[0]?.cause, 'backend postgresql at 127.0.0.1:5432');
  assert.equal(v.causes[0]?.share_pct, 83.3);
  assert.equal(v.causes.length, 1, 'Redis at 3 % is not named');
});

test('a saturated generator comes first and makes the run inconclusive', () => {
  const v = judge({ ...base, generator: { saturated: true, cpuPct: 99, sendLagP99Ms: 1, stealPct: 0.3 } });
  assert.equal(v.status, 'inconclusive');
  assert.equal(v.causes[0]?.cause, 'the load generator itself');
  assert.equal(v.causes[0]?.share_pct, 50);
  assert.match(v.causes[0]!.evidence, /lower --rate or run it on another machine$/);
});

test('a generator stalled by the hypervisor says so', () => {
  const v = judge({ ...base, generator: { saturated: true, cpuPct: 12, sendLagP99Ms: 25, stealPct: 31.4 } });
  assert.equal(v.status, 'inconclusive');
  assert.match(v.causes[0]!.evidence, /hypervisor took 31\.4 % of this machine's CPU time \(steal\): run it where CPUs are not shared$/);
  assert.match(v.summary, /the hypervisor took 31\.4 % of this machine's CPU time meanwhile \(steal\)/);
  // Below the bar, steal goes unmentioned.
  assert.doesNotMatch(judge(base).summary, /steal/);
});

test('without kernel data a slow tail is reported as unexplained, and kernel stages as missing', () => {
  const v = judge({ ...base, kernel: null, latency: { ...base.latency, p99_ms: 900 } });
  assert.equal(v.status, 'slow');
  assert.deepEqual(v.causes, []);
  assert.equal(v.missing[0], 'kernel stages');
  assert.match(v.summary, /no measured view explains it/);
});

test('failing requests make the status errors', () => {
  const failed = judge({ ...base, errorRatePct: 12.5, errorKinds: { ECONNREFUSED: 1250 } });
  assert.equal(failed.status, 'errors');
  assert.match(failed.summary, /^12\.5 % of requests failed; no measured view explains it/);
  assert.equal(judge({ ...base, requests: 0 }).status, 'inconclusive');
});

test("the target's failures are errors even when the generator fell behind; the generator's own backlog is not", () => {
  const late = { saturated: true, cpuPct: 12, sendLagP99Ms: 25, stealPct: 0.3 };
  const failed = judge({ ...base, errorRatePct: 58, errorKinds: { MaxRetriesPerRequestError: 5800 }, generator: late });
  assert.equal(failed.status, 'errors');
  assert.match(failed.summary, /^58\.0 % of requests failed; the load generator itself explains/);
  const backlog = judge({ ...base, errorRatePct: 19.5, errorKinds: { [BACKLOG_ERROR]: 1900, ECONNRESET: 50 }, generator: late });
  assert.equal(backlog.status, 'inconclusive', '0.5 % failed at the target, below the bar');
  const both = judge({ ...base, errorRatePct: 21, errorKinds: { [BACKLOG_ERROR]: 1900, ECONNRESET: 200 }, generator: late });
  assert.equal(both.status, 'errors', '2 % failed at the target');
});

const profile = (over: Partial<NonNullable<VerdictInput['profile']>> = {}): NonNullable<VerdictInput['profile']> => ({
  requests: 100,
  wall_ms: 1000,
  cpu_ms: 300,
  top_functions: [
    { name: 'burnCpu', file: '/srv/app/handlers.js', line: 12, time_ms: 240 },
    { name: 'serialize', file: '/srv/node_modules/fastify/lib/reply.js', line: 80, time_ms: 30 },
  ],
  operations: [
    { operation: 'pg INSERT', count: 400, total_ms: 200, mean_ms: 0.5 },
    { operation: 'redis GET', count: 800, total_ms: 80, mean_ms: 0.1 },
  ],
  files: ['flame.html'],
  notes: [],
  ...over,
});

test('a handler that burns CPU is blamed on its JavaScript, naming the busiest functions', () => {
  const v = judge({ ...base, profile: profile({ cpu_ms: 700 }) });
  assert.equal(v.status, 'slow');
  assert.equal(v.causes[0]!.cause, 'application CPU (JavaScript)');
  assert.equal(v.causes[0]!.share_pct, 70);
  assert.match(v.causes[0]!.evidence, /busiest functions: burnCpu \(handlers\.js:12\) 240 ms, serialize \(reply\.js:80\) 30\.0 ms/);
  assert.deepEqual(v.missing, [], 'with a profile, CPU and backend spans are not missing');
});

test('a fast service that is mostly JavaScript is not called slow for it', () => {
  // 60 % of request time, but 0.06 ms of JavaScript per request.
  const v = judge({ ...base, profile: profile({ requests: 10000, cpu_ms: 600 }) });
  assert.equal(v.status, 'clean');
  // Nor does its JavaScript explain a slow tail.
  const tail = judge({ ...base, latency: { ...base.latency, p99_ms: 40 }, profile: profile({ requests: 10000, cpu_ms: 600, operations: [] }) });
  assert.equal(tail.status, 'slow');
  assert.deepEqual(tail.causes, []);
  assert.equal(tail.summary, 'slow tail: p99 40.0 ms against a median of 1.00 ms; no measured view explains it');
});

test('a backend named by the kernel gets its operations as evidence; without kernel data the operations are the causes', () => {
  const peer = { address: '127.0.0.1', port: 5432, service: 'postgresql', count: 400, total_ms: 5000, mean_ms: 12.5, max_ms: 40 };
  const withKernel = judge({ ...base, peers: [peer], profile: profile() });
  assert.equal(withKernel.status, 'slow');
  assert.match(withKernel.causes[0]!.evidence, /by operation: pg INSERT 400 calls, 0\.50 ms each$/);
  const withoutKernel = judge({ ...base, kernel: null, latency: { ...base.latency, p99_ms: 50 }, profile: profile({ cpu_ms: 10 }) });
  assert.deepEqual(
    withoutKernel.causes.map((c) => [c.cause, c.share_pct]),
    [
      ['backend operation pg INSERT', 20],
      ['backend operation redis GET', 8],
    ],
  );
  assert.deepEqual(withoutKernel.missing, ['kernel stages']);
});

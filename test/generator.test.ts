// The generator's own logic with in-process operations: schedule, timing from
// the scheduled send, drain, abort. The HTTP path is covered in run.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runLoad } from '../src/load/generator.ts';

const immediate = () => Promise.resolve();

test('open loop keeps its arrival rate and measures only after warm-up', async () => {
  let measureStarted = 0;
  const r = await runLoad({
    operation: immediate,
    pacing: { kind: 'rate', perSecond: 500 },
    durationMs: 1000,
    warmupMs: 200,
    onMeasureStart: () => measureStarted++,
  });
  assert.ok(Math.abs(r.requests - 500) <= 5, `requests ${r.requests}`);
  assert.equal(r.errors, 0);
  assert.equal(measureStarted, 1);
  assert.ok(Math.abs(r.measuredMs - 1000) < 50);
  assert.equal(r.generator.saturated, false);
});

test('a stalled event loop delays sends, and latency counts from the scheduled time', async () => {
  const r = await runLoad({
    operation: async (seq) => {
      if (seq === 100) {
        const until = Date.now() + 300;
        while (Date.now() < until);
      }
    },
    pacing: { kind: 'rate', perSecond: 1000 },
    durationMs: 1000,
  });
  // ~300 requests were due during the stall; they wait from 300 ms down to 0.
  assert.ok(r.latency.percentileMs(90) >= 50, `p90 ${r.latency.percentileMs(90)} ms`);
  assert.ok(r.latency.summary().max_ms >= 280, `max ${r.latency.summary().max_ms} ms`);
  assert.ok(r.generator.sendLagP99Ms >= 200, 'the late sends are seen as generator lag too');
});

test('failures are counted by kind; requests that never answer fail after the drain time', async () => {
  const r = await runLoad({
    operation: (seq) =>
      seq % 10 === 0
        ? Promise.reject(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))
        : seq === 5
          ? new Promise<void>(() => {})
          : Promise.resolve(),
    pacing: { kind: 'rate', perSecond: 100 },
    durationMs: 500,
    drainMs: 100,
  });
  assert.equal(r.unanswered, 1);
  assert.equal(r.errorKinds.ECONNREFUSED, 5);
  assert.equal(r.errorKinds['no answer before the run ended'], 1);
  assert.equal(r.errors, 6);
  assert.equal(r.requests, 50);
});

test('closed loop: each worker waits for its answer; abort stops early and says so', async () => {
  const abort = new AbortController();
  setTimeout(() => abort.abort(), 300);
  const r = await runLoad({
    operation: () => new Promise((resolve) => setTimeout(resolve, 10)),
    pacing: { kind: 'connections', count: 4 },
    durationMs: 5000,
    signal: abort.signal,
  });
  assert.equal(r.interrupted, true);
  assert.ok(r.measuredMs >= 280 && r.measuredMs < 600, `measured ${r.measuredMs} ms`);
  // 4 workers x ~30 round trips of >= 10 ms
  assert.ok(r.requests >= 80 && r.requests <= 130, `requests ${r.requests}`);
  assert.ok(r.latency.percentileMs(50) >= 9);
});

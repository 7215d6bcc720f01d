// Percentiles from log2 buckets: upper bounds, never more precise than the data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { histogramDelta, percentileNs, slotUpperNs, summarizeStage } from '../src/kernel/stage-summary.ts';
import { HIST_SLOTS } from '../src/kernel/layout.ts';

function slots(entries: Record<number, number>): bigint[] {
  const s = new Array<bigint>(HIST_SLOTS).fill(0n);
  for (const [i, c] of Object.entries(entries)) s[Number(i)] = BigInt(c);
  return s;
}

test('a percentile is the upper bound of the bucket that holds it', () => {
  // 98 values in [512, 1024) ns, 2 in [2^20, 2^21) ns
  const s = slots({ 10: 98, 21: 2 });
  assert.equal(percentileNs(s, 50), 1024);
  assert.equal(percentileNs(s, 98), 1024);
  assert.equal(percentileNs(s, 99), 2 ** 21);
  assert.equal(slotUpperNs(0), 0);
});

test('summary: count, total from the exact sum, mean, p50, p99, max', () => {
  const sum = summarizeStage({ slots: slots({ 0: 10, 10: 90 }), sumNs: 90n * 700n });
  assert.deepEqual(sum, { count: 100, total_ms: 0.063, mean_us: 0.63, p50_us: 1.024, p99_us: 1.024, max_us: 1.024 });
  assert.deepEqual(summarizeStage({ slots: slots({}), sumNs: 0n }), {
    count: 0,
    total_ms: 0,
    mean_us: 0,
    p50_us: 0,
    p99_us: 0,
    max_us: 0,
  });
});

test('the delta of two cumulative readings is what happened between them', () => {
  const before = { slots: slots({ 3: 5 }), sumNs: 40n };
  const after = { slots: slots({ 3: 7, 4: 1 }), sumNs: 70n };
  const all = { rx_queue: after, tx_first: after, tx_send: after, dev_queue: after, peer_wait: after };
  const base = { rx_queue: before, tx_first: before, tx_send: before, dev_queue: before, peer_wait: before };
  const d = histogramDelta(all, base).rx_queue;
  assert.equal(d.slots[3], 2n);
  assert.equal(d.slots[4], 1n);
  assert.equal(d.sumNs, 30n);
});

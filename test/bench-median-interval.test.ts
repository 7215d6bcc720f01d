// The benches' confidence interval for a median: the sign test's order statistics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { intervalText, medianInterval } from '../bench/lib/median-interval.ts';

const ranks = (n: number) => Array.from({ length: n }, (_, i) => n - i); // n..1, unsorted on purpose

test('the interval is the order statistics the binomial distribution picks', () => {
  // n = 12: P(X <= 2) = 0.0193 <= 0.025 < P(X <= 3) = 0.073, so x(3) .. x(10)
  assert.deepEqual(medianInterval(ranks(12)), [3, 10]);
  // n = 24: P(X <= 6) = 0.0113 <= 0.025 < P(X <= 7) = 0.032, so x(7) .. x(18)
  assert.deepEqual(medianInterval(ranks(24)), [7, 18]);
  // n = 6: only the extremes reach 95 % (1 - 2/64 = 96.9 %)
  assert.deepEqual(medianInterval(ranks(6)), [1, 6]);
});

test('too few values give no interval rather than a false one', () => {
  assert.equal(medianInterval(ranks(5)), null); // even the extremes cover only 93.75 %
  assert.equal(medianInterval([]), null);
});

test('a lower confidence narrows the interval', () => {
  const [lo95, hi95] = medianInterval(ranks(24))!;
  const [lo80, hi80] = medianInterval(ranks(24), 0.8)!;
  assert.ok(lo80 > lo95 && hi80 < hi95);
});

test('the printed interval names its bounds, or says it has none', () => {
  assert.equal(intervalText(ranks(12), String), '95 % interval 3 .. 10');
  assert.equal(intervalText(ranks(5), String), 'no 95 % interval under 6 rounds');
});

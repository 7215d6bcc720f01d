// CPU steal from /proc/stat: parsed from its aggregate line, as a share of all CPU time between two readings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCpuTimes, readCpuTimes, stealPct } from '../src/host/cpu-steal.ts';

const stat = (steal: number, idle: number) =>
  `cpu  1000 10 500 ${idle} 20 0 30 ${steal} 400 0\ncpu0 500 5 250 ${idle / 2} 10 0 15 ${steal / 2} 200 0\nintr 12345\n`;

test('steal is its share of every CPU time between two readings; guest time is not counted twice', () => {
  const before = parseCpuTimes(stat(100, 10_000));
  assert.deepEqual(before, { busy: 1000 + 10 + 500 + 0 + 30, steal: 100, total: 1000 + 10 + 500 + 10_000 + 20 + 0 + 30 + 100 });
  // 200 more jiffies of steal and 600 more of idle: a quarter of the 800.
  assert.equal(stealPct(before, parseCpuTimes(stat(300, 10_600))), 25);
  assert.equal(stealPct(before, before), 0);
  assert.equal(stealPct(null, before), null);
  assert.equal(parseCpuTimes('intr 1\n'), null);
});

test('this machine reports its CPU times, and they only grow', async () => {
  const first = readCpuTimes();
  assert.ok(first, '/proc/stat has a cpu line');
  await new Promise((r) => setTimeout(r, 50));
  const later = readCpuTimes()!;
  assert.ok(later.total > first.total && later.steal >= first.steal);
  const pct = stealPct(first, later)!;
  assert.ok(pct >= 0 && pct <= 100, `${pct}`);
});

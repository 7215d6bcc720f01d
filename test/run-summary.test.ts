// What `wireflame run` prints: the kernel's gaps are said when there are any, and only then.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize } from '../src/cli/run-summary.ts';
import { kernelOff } from '../src/kernel/observer.ts';
import { Latency } from '../src/load/latency.ts';
import { buildResult } from '../src/report/build-result.ts';
import type { RunResult } from '../src/report/result-schema.ts';

function result(kernel: Partial<RunResult['kernel']>): RunResult {
  const latency = new Latency();
  for (let i = 0; i < 100; i++) latency.recordNs(1e6);
  const built = buildResult({
    scenario: 'http-json-api',
    startedAt: new Date('2026-01-01T00:00:00Z'),
    endedAt: new Date('2026-01-01T00:00:01Z'),
    target: { url: 'http://127.0.0.1:1', embedded: true },
    pacing: { mode: 'open', rate: 100, connections: 64 },
    warmupMs: 0,
    load: {
      requests: 100,
      errors: 0,
      errorKinds: {},
      latency,
      measuredMs: 1000,
      interrupted: false,
      unanswered: 0,
      generator: { cpuPct: 20, sendLagP99Ms: 0.1, saturated: false, stealPct: 0.2 },
    },
    kernel: kernelOff('test').finish(),
    host: { cpu_model: 'test', cores: 2, memory_bytes: 1, kernel: 'test', os: 'test', nics: [] },
    cloud: { provider: 'none' },
  });
  return { ...built, kernel: { ...built.kernel, available: true, ...kernel } };
}

test('kernel gaps are one line when there are any', () => {
  const text = summarize(result({ map_full: 3, late_sends: 2 }), 'result.json');
  assert.match(text, /^kernel data: 3 map updates failed \(map full\), 2 send calls ended late \(a hook missed their last segment\)$/m);
});

test('a run without gaps, or from before late sends were counted, prints no such line', () => {
  assert.doesNotMatch(summarize(result({ map_full: 0, late_sends: 0 }), 'result.json'), /kernel data:/);
  const older = result({});
  delete older.kernel.late_sends;
  assert.doesNotMatch(summarize(older, 'result.json'), /kernel data:/);
});

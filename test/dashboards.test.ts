// Every metric a dashboard queries is one that runs push.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { Latency } from '../src/load/latency.ts';
import { runRegistry } from '../src/metrics/run-metrics.ts';
import type { RunResult } from '../src/report/result-schema.ts';

const dir = new URL('../dashboards/', import.meta.url);

test('dashboards query only metrics that wireflame run exports', async () => {
  const result = {
    scenario: 's',
    requests_total: 1,
    errors_by_kind: { e: 1 },
    tps_avg: 1,
    duration_sec: 1,
    ended_at: new Date().toISOString(),
    partial: false,
    generator: { cpu_pct: 1 },
    kernel: { stages: { rx_queue: { total_ms: 1, count: 1 } } },
    verdict: { causes: [{ cause: 'c', share_pct: 50 }] },
  } as unknown as RunResult;
  const latency = new Latency();
  latency.recordNs(1e6);
  const exported = new Set((await runRegistry(result, latency).getMetricsAsJSON()).map((m) => m.name));
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.ok(files.length > 0);
  for (const file of files) {
    const dash = JSON.parse(readFileSync(new URL(file, dir), 'utf8'));
    assert.ok(dash.uid && dash.title && Array.isArray(dash.panels), `${file} is a dashboard`);
    for (const panel of dash.panels) {
      for (const target of panel.targets) {
        const names = [...(target.expr as string).matchAll(/\b(wireflame_[a-z_]+?)(_bucket|_sum|_count)?\{/g)].map((m) => m[1]!);
        assert.ok(names.length > 0, `${file} / ${panel.title}: queries a wireflame metric`);
        for (const name of names) assert.ok(exported.has(name), `${file} / ${panel.title}: ${name} is exported`);
      }
    }
  }
});

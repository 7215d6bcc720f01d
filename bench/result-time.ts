/**
 * How long a run takes to say how it went once the load stops: result,
 * verdict, schema check, file, and the Prometheus registry, for a 60 s run at
 * 10k req/s (600k latencies). The latencies are generated, not served: this
 * measures the work after the run, not the run.
 *
 *   node bench/result-time.ts [--requests 600000]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { LoadResult } from '../src/load/generator.ts';
import { kernelOff } from '../src/kernel/observer.ts';
import { Latency } from '../src/load/latency.ts';
import { runRegistry } from '../src/metrics/run-metrics.ts';
import { buildResult } from '../src/report/build-result.ts';
import { scratchDir } from '../src/util/scratch-dir.ts';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '600000' } } });
const n = Number(values.requests);

const latency = new Latency();
let seed = 42;
for (let i = 0; i < n; i++) {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  latency.recordNs(-Math.log(1 - seed / 2 ** 32) * 2e6);
}
const load: LoadResult = {
  requests: n,
  errors: 0,
  errorKinds: {},
  latency,
  measuredMs: 60_000,
  interrupted: false,
  unanswered: 0,
  generator: { cpuPct: 40, sendLagP99Ms: 0.2, saturated: false, stealPct: 0.1 },
};

const t0 = performance.now();
const result = buildResult({
  scenario: 'http-json-api',
  startedAt: new Date(Date.now() - 60_000),
  endedAt: new Date(),
  target: { url: 'http://127.0.0.1:1', embedded: true },
  pacing: { mode: 'open', rate: n / 60, connections: 64 },
  warmupMs: 5000,
  load,
  kernel: kernelOff('bench').finish(),
  host: { cpu_model: 'bench', cores: 2, memory_bytes: 1, kernel: 'bench', os: 'bench', nics: [] },
  cloud: { provider: 'none' },
});
writeFileSync(join(scratchDir('wf-bench-'), 'result.json'), JSON.stringify(result, null, 2));
const t1 = performance.now();
const text = await runRegistry(result, latency).metrics();
const t2 = performance.now();
console.log(`${n} requests (60 s at ${(n / 60).toFixed(0)} req/s)`);
console.log(`result + verdict + schema check + write: ${(t1 - t0).toFixed(1)} ms`);
console.log(`Prometheus registry (histogram from every latency) + exposition: ${(t2 - t1).toFixed(1)} ms (${text.length} bytes)`);
console.log(`total after the run: ${(t2 - t0).toFixed(1)} ms (target < 2000 ms)`);

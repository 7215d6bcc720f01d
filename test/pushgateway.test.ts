// --exporter prometheus: the run's metrics reach a real Pushgateway (Debian's
// prometheus-pushgateway, started here on a free loopback port).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { freePort } from '../src/load/backends/free-port.ts';
import { stopChild, waitUntilReady } from '../src/load/backends/child.ts';
import type { RunResult } from '../src/report/result-schema.ts';
import { wireflame } from './helpers/cli.ts';
import { scratchDir } from '../src/util/scratch-dir.ts';

const dir = scratchDir('wf-pushgateway-');
const port = await freePort();
const gatewayUrl = `http://127.0.0.1:${port}`;
const gateway = spawn(
  'prometheus-pushgateway',
  [`--web.listen-address=127.0.0.1:${port}`, `--persistence.file=${join(dir, 'data')}`, '--log.level=warn'],
  { stdio: 'ignore' },
);
after(() => stopChild(gateway));
await waitUntilReady(gateway, 'prometheus-pushgateway', async () => {
  const res = await request(`${gatewayUrl}/-/ready`);
  await res.body.dump();
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
});

async function scrape(): Promise<string> {
  const res = await request(`${gatewayUrl}/metrics`);
  return res.body.text();
}

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.lastIndexOf('}'));
    const found = Object.fromEntries([...body.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

test('a run pushes its metrics, grouped by job, instance and scenario, in base units', async () => {
  const r = await wireflame([
    'run', '--duration', '2s', '--warmup', '0', '--rate', '150', '--json',
    '--out', join(dir, 'run'), '--exporter', 'prometheus', '--pushgateway', gatewayUrl,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as RunResult;
  const text = await scrape();
  const group = { job: 'wireflame', instance: hostname(), scenario: 'http-json-api' };
  assert.equal(sample(text, 'wireflame_requests_total', group), result.requests_total);
  assert.equal(sample(text, 'wireflame_request_duration_seconds_count', group), result.requests_total);
  assert.equal(sample(text, 'wireflame_request_duration_seconds_bucket', { ...group, le: '+Inf' }), result.requests_total);
  const sum = sample(text, 'wireflame_request_duration_seconds_sum', group)!;
  // The sum, in seconds, matches the mean latency in milliseconds.
  assert.ok(Math.abs(sum / result.requests_total - result.latency_mean_ms / 1000) < 0.0005, `sum ${sum}`);
  assert.equal(sample(text, 'wireflame_throughput_requests_per_second', group), result.tps_avg);
  assert.equal(sample(text, 'wireflame_kernel_stage_waits_total', { ...group, stage: 'rx_queue' }), result.kernel.stages.rx_queue?.count);
  assert.ok(sample(text, 'push_time_seconds', group)! > 0, 'the Pushgateway recorded the push');
});

test('exporter flags: wrong ones are one line and exit 2, before any run', async () => {
  const cases: [string[], RegExp][] = [
    [['--exporter', 'statsd', '--pushgateway', gatewayUrl], /^wireflame: --exporter: unknown exporter 'statsd' \(known: prometheus\)$/],
    [['--exporter', 'prometheus'], /^wireflame: --exporter prometheus needs --pushgateway URL$/],
    [['--exporter', 'prometheus', '--pushgateway', 'http://127.0.0.1:1'], /^wireflame: --pushgateway: http:\/\/127\.0\.0\.1:1 is not a ready Pushgateway \(ECONNREFUSED\)$/],
  ];
  for (const [args, message] of cases) {
    const r = await wireflame(['run', '--duration', '1s', '--out', join(dir, 'bad'), ...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr.trim(), message);
  }
});

// The pure parts of tracing: export choice, kernel stage placement, settings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StageAgg } from '../src/kernel/codec.ts';
import { tracingConfig } from '../src/trace/config.ts';
import { ExportSampler } from '../src/trace/export-sampler.ts';
import { pgOperation } from '../src/trace/instrument/pg.ts';
import { kernelAttributes, lastStageEndNs, mergeAgg, sendComplete, serverStartNs, stageIntervals } from '../src/trace/kernel-spans.ts';
import { newSpan } from '../src/trace/span-record.ts';
import { monoNs, wallMinusMonoUs } from '../src/trace/clock.ts';

const agg = (o: Partial<Record<keyof StageAgg, number>>): StageAgg => ({
  sumNs: o.sumNs ?? 0,
  maxNs: o.maxNs ?? 0,
  count: o.count ?? 1,
  bytes: o.bytes ?? 0,
  firstNs: o.firstNs ?? 0,
  lastNs: o.lastNs ?? 0,
});

test('export: failures always, the slow tail always, and the given ratio of the rest', () => {
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const sampler = new ExportSampler({ ratio: 0.1, tailQuantile: 0.99, warmup: 100, random });
  const reasons = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) {
    const slow = i % 200 === 37; // 0.5 % take 50 ms: all of them are in the slowest 1 %
    const r = sampler.decide(slow ? 50e6 : 1e6, false, i * 1e6);
    const key = `${slow ? 'slow' : 'fast'}:${r}`;
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  assert.equal(reasons.get('slow:null'), undefined, 'no slow request is dropped');
  const fastSampled = reasons.get('fast:sampled') ?? 0;
  assert.ok(fastSampled > 1800 && fastSampled < 2200, `about 10 % of fast requests sampled: ${fastSampled}`);
  assert.equal(sampler.decide(1e6, true, 20_000e6), 'error');
  assert.ok(sampler.thresholdMs >= 1 && sampler.thresholdMs < 50, `threshold ${sampler.thresholdMs} ms`);
});

test('export: the first requests are exported while there is no tail to compare with', () => {
  const sampler = new ExportSampler({ ratio: 0, tailQuantile: 0.99, warmup: 10, random: () => 0.5 });
  const first = Array.from({ length: 10 }, (_, i) => sampler.decide(1e6, false, i * 1e6));
  assert.deepEqual(new Set(first), new Set(['warmup']));
  assert.equal(sampler.decide(1e6, false, 10e6), null);
});

test('export: the ratio is held to its rate limit, failures and the slow tail are not', () => {
  const sampler = new ExportSampler({ ratio: 1, maxPerSecond: 50, tailQuantile: 0.99, warmup: 100 });
  // 10 000 requests a second for 3 s: 0.5 % take 50 ms (all in the slowest 1 %), some fail.
  const counts = new Map<string, number>();
  for (let i = 0; i < 30_000; i++) {
    const slow = i % 200 === 42;
    const r = sampler.decide(slow ? 50e6 : 1e6, i % 1000 === 7, 1e9 + i * 100_000);
    counts.set(`${slow ? 'slow' : 'fast'}:${r}`, (counts.get(`${slow ? 'slow' : 'fast'}:${r}`) ?? 0) + 1);
  }
  const sampled = counts.get('fast:sampled') ?? 0;
  // One second's worth at the start, then 50 a second: 150 to 200 in 3 s.
  assert.ok(sampled >= 150 && sampled <= 200, `sampled ${sampled}`);
  assert.equal(counts.get('slow:null'), undefined, 'no slow request is dropped');
  assert.equal(counts.get('fast:error'), 30, 'every failure is exported');
  const unlimited = new ExportSampler({ ratio: 1, maxPerSecond: 0, tailQuantile: 0.99, warmup: 0 });
  assert.ok(Array.from({ length: 1000 }, (_, i) => unlimited.decide(1e6, false, i)).every((r) => r === 'sampled'), '0: no limit');
});

test('export: at high rates the tail quantile rises to about its rate, and the slowest requests are all still exported', () => {
  // 50 000 requests a second for 4 s: 1 ms and an exponential tail (mean 0.3 ms), and 0.05 % take 50 ms.
  const run = (tailPerSecond: number) => {
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const sampler = new ExportSampler({ ratio: 0, tailQuantile: 0.99, tailPerSecond, random });
    const slow = { lastSecond: 0, verySlowDropped: 0, lastSecondSpike: 0 };
    for (let i = 0; i < 200_000; i++) {
      const verySlow = i % 2000 === 1234;
      const durationNs = verySlow ? 50e6 : 1e6 - Math.log(1 - random()) * 0.3e6;
      const r = sampler.decide(durationNs, false, 1e9 + i * 20_000);
      if (verySlow && r !== 'slow') slow.verySlowDropped++;
      if (i >= 150_000 && r === 'slow') slow.lastSecond++;
    }
    // A burst, far more than 100 a second: 300 requests in a row slower than all so far.
    for (let i = 0; i < 300; i++) if (sampler.decide(30e6, false, 5e9 + i * 20_000) === 'slow') slow.lastSecondSpike++;
    return { ...slow, quantile: sampler.tailQuantile };
  };
  const risen = run(100);
  assert.ok(risen.quantile > 0.997 && risen.quantile < 0.9985, `quantile ${risen.quantile}`);
  assert.ok(risen.lastSecond >= 70 && risen.lastSecond <= 150, `about 100 slow a second: ${risen.lastSecond}`);
  assert.equal(risen.verySlowDropped, 0, 'the slowest requests are all exported');
  assert.equal(risen.lastSecondSpike, 300, 'a burst of slow requests is exported whole');
  const fixed = run(0);
  assert.equal(fixed.quantile, 0.99);
  assert.ok(fixed.lastSecond >= 400 && fixed.lastSecond <= 600, `1 % of 50k a second: ${fixed.lastSecond}`);
});

test('export: settings out of range are refused', () => {
  assert.throws(() => new ExportSampler({ ratio: 1.5, tailQuantile: 0.99 }), /ratio/);
  assert.throws(() => new ExportSampler({ ratio: 0.1, tailQuantile: 1 }), /quantile/);
  assert.throws(() => new ExportSampler({ ratio: 0.1, tailQuantile: 0.99, maxPerSecond: -1 }), /rate/);
  assert.throws(() => new ExportSampler({ ratio: 0.1, tailQuantile: 0.99, tailPerSecond: -1 }), /tail export rate/);
});

test('stage child spans sit where the kernel saw them, clamped into their parent', () => {
  const kernel = {
    rx_queue: agg({ sumNs: 300, firstNs: 500, lastNs: 800 }),
    tx_send: agg({ sumNs: 100, firstNs: 1900, lastNs: 2100, bytes: 10 }),
    dev_queue: agg({ sumNs: 0 }), // not timed: no place
    tx_first: agg({ sumNs: 0, firstNs: 1900, lastNs: 1900 }), // took no time: nothing to show
    peer_wait: agg({ count: 0 }), // never happened
  };
  const spans = stageIntervals(kernel, 600, 2000);
  assert.deepEqual(
    spans.map((s) => [s.stage, s.startNs, s.endNs]),
    [
      ['rx_queue', 600, 800],
      ['tx_send', 1900, 2000],
    ],
  );
  const oneWrite = { tx_first: agg({ sumNs: 50, firstNs: 900, lastNs: 950 }), tx_send: agg({ sumNs: 50, firstNs: 900, lastNs: 950 }) };
  assert.deepEqual(stageIntervals(oneWrite, 0, 2000).map((s) => s.stage), ['tx_send'], 'a first byte that is the whole send is not repeated');
  const inPieces = { ...oneWrite, tx_send: agg({ sumNs: 80, firstNs: 900, lastNs: 980 }) };
  assert.deepEqual(stageIntervals(inPieces, 0, 2000).map((s) => s.stage), ['tx_first', 'tx_send']);
  const span = Object.assign(newSpan({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), parentSpanId: undefined, kind: 'server', name: 'x', startNs: 600 }), { kernel });
  assert.equal(serverStartNs(span), 500, 'a request starts when its bytes began to wait');
  assert.equal(lastStageEndNs(kernel), 2100);
});

test('kernel attributes: one prefix, only stages that happened', () => {
  const attrs = kernelAttributes({ tx_send: agg({ sumNs: 70, maxNs: 40, count: 2, bytes: 900 }), rx_queue: agg({ count: 0 }) }, 'tcp_sendmsg=tp_btf');
  assert.deepEqual(attrs, {
    'wireflame.kernel.tx_send.wait_ns': 70,
    'wireflame.kernel.tx_send.max_ns': 40,
    'wireflame.kernel.tx_send.count': 2,
    'wireflame.kernel.tx_send.bytes': 900,
    'wireflame.kernel.hooks': 'tcp_sendmsg=tp_btf',
  });
  assert.deepEqual(kernelAttributes(null, 'x'), {});
});

test('merging two takes of a stage keeps the widest bounds; a send is complete once all written bytes went out', () => {
  const merged = mergeAgg(agg({ sumNs: 5, maxNs: 5, bytes: 100, firstNs: 10, lastNs: 15 }), agg({ sumNs: 7, maxNs: 7, bytes: 50, firstNs: 30, lastNs: 37 }));
  assert.deepEqual(merged, agg({ sumNs: 12, maxNs: 7, count: 2, bytes: 150, firstNs: 10, lastNs: 37 }));
  assert.deepEqual(mergeAgg(agg({ firstNs: 0 }), agg({ firstNs: 9, lastNs: 9 })).firstNs, 9);
  assert.equal(sendComplete({ tx_send: agg({ bytes: 100 }) }, 150, false), false);
  assert.equal(sendComplete({ tx_send: agg({ bytes: 150 }) }, 150, false), true);
  assert.equal(sendComplete(null, 0, false), true);
  // Timed by timestamping: all bytes reached the device queue, the last ones have not left it.
  assert.equal(sendComplete({ tx_send: agg({ bytes: 150 }), dev_queue: agg({ bytes: 100 }) }, 150, true), false);
  assert.equal(sendComplete({ tx_send: agg({ bytes: 150 }), dev_queue: agg({ bytes: 150 }) }, 150, true), true);
});

test('settings: defaults, and one line naming the bad variable', () => {
  const c = tracingConfig({});
  assert.equal(c.kernel, 'auto');
  assert.equal(c.otlpEndpoint, undefined);
  assert.equal(c.otlpFromEnv, false);
  assert.equal(c.exportRatio, 0.01);
  assert.equal(c.exportMaxPerSecond, 100);
  assert.equal(tracingConfig({ WIREFLAME_EXPORT_RATE: '0' }).exportMaxPerSecond, 0);
  assert.equal(c.exportTailPerSecond, 100);
  assert.equal(tracingConfig({ WIREFLAME_EXPORT_TAIL_RATE: '0' }).exportTailPerSecond, 0);
  assert.throws(() => tracingConfig({ WIREFLAME_EXPORT_RATE: '-5' }), /^TracingConfigError: WIREFLAME_EXPORT_RATE must be a whole number \(0 or more\), got "-5"$/);
  assert.equal(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317' }).otlpFromEnv, true);
  assert.throws(() => tracingConfig({ WIREFLAME_EXPORT_RATIO: 'lots' }), /^TracingConfigError: WIREFLAME_EXPORT_RATIO must be a number from 0 to 1, got "lots"$/);
  assert.throws(() => tracingConfig({ WIREFLAME_KERNEL: 'maybe' }), /WIREFLAME_KERNEL must be one of auto, agent, self, off/);
  assert.throws(() => tracingConfig({ WIREFLAME_OTLP_ENDPOINT: '127.0.0.1:4317' }), /must be an http:\/\/ or https:\/\/ URL/);
  assert.throws(() => tracingConfig({ WIREFLAME_EXPORT_MAX_IN_FLIGHT: '0' }), /positive integer/);
  assert.equal(c.timestamping, true);
  assert.equal(tracingConfig({ WIREFLAME_TIMESTAMPING: 'off' }).timestamping, false);
  assert.throws(() => tracingConfig({ WIREFLAME_TIMESTAMPING: 'no' }), /^TracingConfigError: WIREFLAME_TIMESTAMPING must be auto or off, got "no"$/);
  assert.equal(tracingConfig({ WIREFLAME_PROFILE_INTERVAL_US: '1000000' }).profileIntervalMicros, 1_000_000);
  assert.throws(
    () => tracingConfig({ WIREFLAME_PROFILE_INTERVAL_US: '60000000' }),
    /^TracingConfigError: WIREFLAME_PROFILE_INTERVAL_US must be at most 1000000 \(1 Hz: each 10 s collection needs samples\), got "60000000"$/,
  );
});

test('pg operation names come from the statement', () => {
  assert.equal(pgOperation('  insert into t values (1)'), 'INSERT');
  assert.equal(pgOperation(undefined), 'QUERY');
});

test('span clock: CLOCK_MONOTONIC ns, as the kernel stamps its stages', () => {
  for (let i = 0; i < 100; i++) {
    const before = Number(process.hrtime.bigint());
    const mono = monoNs();
    const after = Number(process.hrtime.bigint());
    assert.ok(mono >= before - 1_000 && mono <= after + 1_000, `${mono} within [${before}, ${after}] give or take 1 us`);
  }
});

test('wall minus monotonic, measured at a millisecond edge, agrees with the clocks read side by side', () => {
  const offset = wallMinusMonoUs();
  for (let i = 0; i < 20; i++) {
    const before = Date.now() * 1e3;
    const wall = offset + monoNs() / 1e3;
    const after = Date.now() * 1e3 + 1e3;
    // Date.now() truncates to the ms: the wall time read lies in [before, after).
    assert.ok(wall >= before - 5 && wall < after + 5, `${wall} within [${before}, ${after})`);
  }
  // Two measures an instant apart agree to a few µs.
  assert.ok(Math.abs(wallMinusMonoUs() - offset) < 5, 'the measure is steady');
});

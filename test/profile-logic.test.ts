// The pure parts of the fused profile: how a request's time is split, and how stacks are written.
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { test } from 'node:test';
import { Profile } from 'pprof-format';
import { foldedName, toFolded } from '../src/profile/folded.ts';
import { frame, type WeightedStack } from '../src/profile/frames.ts';
import { ConnectionTimeline, type RunningRequest } from '../src/profile/connection-timeline.ts';
import { backendFrameName, fuse, OUTSIDE_REQUESTS, UNATTRIBUTED } from '../src/profile/fuse.ts';
import { encodePprofGz, toPprof } from '../src/profile/pprof-encode.ts';
import { profileSummary } from '../src/profile/profile-summary.ts';
import { samplesOf } from '../src/profile/profiler.ts';
import { stageWallNs, wallOutside, type RouteTotals } from '../src/profile/route-stats.ts';

const route = (over: Partial<RouteTotals>): RouteTotals => ({ route: 'GET /a', count: 1, wallNs: 0, kernel: {}, backends: new Map(), ...over });
const cpu = (name: string) => ({ name, kind: 'cpu' as const, file: 'app.js', line: 1 });

test('a request splits into its CPU, its kernel stages, its backend waits, and the rest', () => {
  const stacks = fuse({
    service: 'svc',
    samples: [
      { stack: [cpu('handler'), cpu('burn')], wallNs: 3e6, cpuNs: 3e6, route: 'GET /a', spanId: 'ab' },
      { stack: [cpu('timer')], wallNs: 1e6, cpuNs: 1e6 },
      { stack: [cpu('(idle)')], wallNs: 5e6, cpuNs: 0 },
    ],
    routes: [
      route({
        wallNs: 10e6,
        kernel: { rx_queue: 1e6, tx_first: 0.1e6, tx_send: 0.5e6 },
        backends: new Map([['redis GET', { count: 1, ns: 4e6, kernel: { tx_send: 0.2e6, peer_wait: 3e6 } }]]),
      }),
    ],
  });
  const byPath = new Map(stacks.map((s) => [s.frames.map((f) => f.name).join(';'), s.ns]));
  assert.equal(byPath.get('svc;GET /a;handler;burn'), 3e6);
  assert.equal(byPath.get(`svc;${OUTSIDE_REQUESTS};timer`), 1e6);
  assert.ok(![...byPath.keys()].some((k) => k.includes('(idle)')), 'idle time is not drawn');
  assert.equal(byPath.get('svc;GET /a;[kernel] receive queue'), 1e6);
  assert.equal(byPath.get('svc;GET /a;[kernel] tcp send queue'), 0.5e6);
  assert.ok(![...byPath.keys()].some((k) => k.includes('first byte')), 'the first-byte stage is inside the send stage');
  // The answer wait is timed from the send: the send is not counted twice.
  assert.equal(byPath.get('svc;GET /a;[redis] GET;[kernel] peer answer wait'), 2.8e6);
  assert.equal(byPath.get('svc;GET /a;[redis] GET;[kernel] tcp send queue'), 0.2e6);
  assert.equal(byPath.get('svc;GET /a;[redis] GET'), 1e6);
  assert.equal(byPath.get(`svc;GET /a;${UNATTRIBUTED}`), 10e6 - 3e6 - 1e6 - 0.5e6 - 4e6);
  const labels = stacks.find((s) => s.frames.at(-1)!.name === 'burn')!.labels;
  assert.deepEqual(labels, { route: 'GET /a', span_id: 'ab' });
});

test('backend frames are named by system and operation', () => {
  assert.equal(backendFrameName('redis GET'), '[redis] GET');
  assert.equal(backendFrameName('pg INSERT'), '[pg] INSERT');
  assert.equal(backendFrameName('GET api.local'), '[http] GET api.local');
});

test('hostile names survive folding: separators replaced, the rest kept', () => {
  const long = 'x'.repeat(5000);
  const name = `<script>alert("a;b")</script>\n${long}`;
  assert.equal(foldedName(name), `<script>alert("a:b")</script> ${long}`);
  const text = toFolded([{ frames: [frame('svc', 'service'), frame(name, 'cpu')], ns: 7, labels: {} }]);
  assert.equal(text, `svc;${foldedName(name)} 7\n`);
  assert.equal(toFolded([]), '');
});

test('pprof: leaf first, synthetic frames tagged by file, labels kept, values in ns', () => {
  const stacks: WeightedStack[] = [
    { frames: [frame('svc', 'service'), frame('GET /a', 'route'), cpu('burn')], ns: 5, labels: { route: 'GET /a', span_id: 'ff' } },
    { frames: [frame('svc', 'service'), frame('GET /a', 'route'), frame('[kernel] receive queue', 'kernel')], ns: 9, labels: { route: 'GET /a' } },
  ];
  const p = Profile.decode(gunzipSync(encodePprofGz(toPprof(stacks, { timeNanos: 1, durationNanos: 2 }))));
  const str = (i: unknown) => p.stringTable.strings[Number(i)];
  assert.equal(str(p.sampleType[0]!.type), 'wall');
  assert.equal(str(p.sampleType[0]!.unit), 'nanoseconds');
  const leafName = (i: number) => {
    const loc = p.location.find((l) => l.id === p.sample[i]!.locationId[0])!;
    const fn = p.function.find((f) => f.id === loc.line[0]!.functionId)!;
    return [str(fn.name), str(fn.filename)];
  };
  assert.deepEqual(leafName(0), ['burn', 'app.js']);
  assert.deepEqual(leafName(1), ['[kernel] receive queue', '[kernel]']);
  assert.deepEqual(p.sample.map((s) => Number(s.value[0])), [5, 9]);
  assert.deepEqual(
    p.sample[0]!.label.map((l) => [str(l.key), str(l.str)]),
    [
      ['route', 'GET /a'],
      ['span_id', 'ff'],
    ],
  );
  assert.equal(p.function.length, 4, 'each distinct frame once: svc, GET /a, burn, the stage');
});

test('a stage counts the wall time it took, not the sum of overlapping waits; the device queue only beyond the send', () => {
  const agg = (sum: number, first: number, last: number) => ({ sumNs: sum, maxNs: 0, count: 3, bytes: 0, firstNs: first, lastNs: last });
  // Three skbs queued together, waiting 10, 20 and 30 ms: 60 ms of waits in 30 ms of wall time.
  assert.equal(stageWallNs(agg(60e6, 100e6, 130e6)), 30e6);
  assert.equal(stageWallNs({ ...agg(5, 0, 0), firstNs: 0 }), 5, 'untimed stages keep their sum');
  // Sending ran from 100 to 120 ms; the device queue from 110 to 130: 10 ms of it lies beyond the send.
  assert.equal(wallOutside(agg(20e6, 100e6, 120e6), agg(20e6, 110e6, 130e6)), 10e6);
  assert.equal(wallOutside(undefined, agg(20e6, 110e6, 130e6)), 20e6);
});

const request = (spanId: string, startNs: number, endNs = 0): RunningRequest => ({ spanId, name: 'GET /a', startNs, endNs });

test('a connection timeline gives a sample the request it ran in, and none between requests', () => {
  const line = new ConnectionTimeline();
  // Samples were taken during a and during b (the count moved), none during c.
  line.enter(request('a', 100, 200), 0, 0);
  line.enter(request('b', 300, 400), 1, 0);
  line.enter(request('c', 500, 600), 2, 0);
  const d = request('d', 700);
  line.enter(d, 2, 0);
  // Fastify names the route after the request started.
  d.name = 'GET /d';
  assert.equal(line.resolve(150)?.spanId, 'a', 'inside a');
  assert.equal(line.resolve(200)?.spanId, 'a', "at a's end");
  assert.equal(line.resolve(250), null, 'between a and b: neither');
  assert.equal(line.resolve(50), null, 'before the first: none');
  assert.equal(line.resolve(10_000)?.spanId, 'd', 'the running request, without an end yet');
  assert.equal(line.resolve(800)?.route, 'GET /d', 'the running request is read as it is now');
  // c overlapped no sample: it was not kept, and its time is b's no more.
  assert.equal(line.resolve(550), null);
});

test('a connection timeline forgets requests a taken profile has used', () => {
  const line = new ConnectionTimeline();
  line.enter(request('a', 100, 200), 0, 0);
  line.enter(request('b', 300, 400), 1, 0);
  // A profile was taken (round 1): a and b are done with; the next requests start afresh.
  line.enter(request('c', 500, 600), 2, 1);
  assert.equal(line.resolve(150), null, 'a is gone');
  assert.equal(line.resolve(350)?.spanId, 'b', 'b overlapped a sample after the collection began: kept');
  line.enter(request('d', 700), 2, 2);
  assert.equal(line.resolve(350), null, 'b is gone');
  assert.equal(line.resolve(550), null, 'c overlapped no sample');
  assert.equal(line.resolve(750)?.spanId, 'd');
});

test("the profiler's samples: root-first stacks, labels read, and one shared array per distinct stack", () => {
  const samples = samplesOf({
    stringTable: { strings: ['', 'wall', 'outer', 'inner', 'app.js', 'route', 'GET /a'] },
    sampleType: [{ type: 1 }],
    function: [
      { id: 1, name: 2, filename: 4 },
      { id: 2, name: 3, filename: 4 },
    ],
    location: [
      { id: 1, line: [{ functionId: 1, line: 10 }] },
      { id: 2, line: [{ functionId: 2, line: 20 }] },
    ],
    sample: [
      { locationId: [2, 1], value: [5], label: [{ key: 5, str: 6 }] },
      { locationId: [2, 1], value: [7], label: [] },
      { locationId: [1], value: [1], label: [] },
    ],
  });
  assert.equal(samples[1]!.cpuNs, 7, 'without CPU times, a sample stands for its wall time');
  assert.deepEqual(samples[0]!.stack.map((f) => f.name), ['outer', 'inner']);
  assert.equal(samples[0]!.route, 'GET /a');
  assert.equal(samples[1]!.wallNs, 7);
  assert.equal(samples[1]!.route, undefined);
  assert.equal(samples[0]!.stack, samples[1]!.stack, 'the same stack is one array');
  assert.deepEqual(samples[2]!.stack.map((f) => f.name), ['outer']);
});

test("a request's JavaScript is counted in CPU time: the thread's waits for a CPU are not", () => {
  // As @datadog/pprof writes them with CPU times: samples, wall ns, CPU ns since the sample before.
  const samples = samplesOf({
    stringTable: { strings: ['', 'samples', 'wall', 'cpu', 'handler', 'app.js', 'route', 'GET /a', 'lib', '/x/node_modules/lib/i.js'] },
    sampleType: [{ type: 1 }, { type: 2 }, { type: 3 }],
    function: [
      { id: 1, name: 4, filename: 5 },
      { id: 2, name: 8, filename: 9 },
    ],
    location: [
      { id: 1, line: [{ functionId: 1, line: 3 }] },
      { id: 2, line: [{ functionId: 2, line: 7 }] },
    ],
    sample: [
      // The thread ran for 9 of the 10 ms before this one, in the handler...
      { locationId: [1], value: [1, 10e6, 9e6], label: [{ key: 6, str: 7 }] },
      // ...and waited for a CPU for most of the next 10 ms, in a library the handler called.
      { locationId: [2, 1], value: [1, 10e6, 2e6], label: [{ key: 6, str: 7 }] },
    ],
  });
  assert.deepEqual(samples.map((s) => [s.wallNs, s.cpuNs]), [[10e6, 9e6], [10e6, 2e6]]);
  const summary = profileSummary(samples, [route({ wallNs: 25e6 })], [], []);
  assert.equal(summary.cpu_ms, 11);
  assert.deepEqual(summary.top_functions.map((f) => [f.name, f.time_ms]), [['handler', 11]]);
});

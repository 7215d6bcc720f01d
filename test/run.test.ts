// `wireflame run` end to end: the real CLI, the embedded fastify target,
// real HTTP, the kernel probes, result.json against its schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { assertValidResult } from '../src/report/build-result.ts';
import type { RunResult } from '../src/report/result-schema.ts';
import { GENERATOR_CAUSE, NOTABLE_STEAL_PCT, SLOW_P99_MS, SLOW_SHARE_PCT, TAIL_RATIO } from '../src/report/verdict.ts';
import { CLI, spawnWireflame, wireflame } from './helpers/cli.ts';
import { programsLeft, wireflamePrograms } from './helpers/bpf.ts';
import { startOtlpReceiver } from './helpers/otlp-receiver.ts';
import { scratchDir } from '../src/util/scratch-dir.ts';

const tmp = () => scratchDir('wireflame-run-');

test('a fixed-rate run against the embedded target: consistent result.json with kernel stages, spans over OTLP', async () => {
  const out = tmp();
  const receiver = await startOtlpReceiver();
  const r = await wireflame(['run', '--duration', '3s', '--warmup', '1s', '--rate', '300', '--json', '--out', out, '--otlp-endpoint', receiver.endpoint]);
  await receiver.close();
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as RunResult;
  assertValidResult(result);
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')), result);

  assert.equal(result.scenario, 'http-json-api');
  assert.equal(result.partial, false);
  assert.equal(result.target.embedded, true);
  assert.deepEqual(result.pacing, { mode: 'open', rate: 300, connections: 64 });
  assert.ok(Math.abs(result.duration_sec - 3) < 0.2, `duration ${result.duration_sec}`);
  assert.ok(Math.abs(result.requests_total - 900) <= 10, `requests ${result.requests_total}`);
  assert.ok(Math.abs(result.tps_avg - result.requests_total / result.duration_sec) < 1, 'tps_avg = requests / duration');
  assert.equal(result.errors_total, 0);
  assert.ok(result.latency_p50_ms > 0 && result.latency_p50_ms <= result.latency_p99_ms);
  assert.ok(result.latency_p99_ms <= result.latency_max_ms);

  assert.equal(result.kernel.available, true, result.kernel.reason);
  assert.equal(result.kernel.hooks.tcp_sendmsg?.mode, 'sockops');
  // Every measured request was read from the receive queue and answered through the send path.
  const { rx_queue, tx_send } = result.kernel.stages;
  assert.ok(rx_queue && rx_queue.count >= result.requests_total * 0.95, `rx_queue count ${rx_queue?.count}`);
  assert.ok(tx_send && tx_send.count >= result.requests_total * 0.95, `tx_send count ${tx_send?.count}`);
  // A healthy target is never blamed: nothing in it takes the share of
  // request time that makes a cause. On a quiet machine the run is clean; one
  // that stalls (steal, a starved generator) may give it a slow tail, which
  // the verdict then puts down to the machine, or make it inconclusive. A
  // shared VM also stalls its guests unseen, without steal: then the tail the
  // stalls made is called slow, and only a tail that is there.
  const { latency_p50_ms: p50, latency_p99_ms: p99 } = result;
  const why = `${result.verdict.summary}: ${JSON.stringify(rx_queue)} p50 ${p50} p99 ${p99} ${r.stderr}`;
  const blamed = result.verdict.causes.filter((c) => c.share_pct >= SLOW_SHARE_PCT && c.cause !== GENERATOR_CAUSE);
  assert.deepEqual(blamed, [], why);
  if (result.generator.saturated) assert.equal(result.verdict.status, 'inconclusive', why);
  else if ((result.generator.steal_pct ?? 0) >= NOTABLE_STEAL_PCT) assert.match(result.verdict.summary, /the hypervisor took/, why);
  else if (result.verdict.status === 'slow') assert.ok(p99 > SLOW_P99_MS && p99 > TAIL_RATIO * p50, `slow without a slow tail: ${why}`);
  else assert.equal(result.verdict.status, 'clean', why);
  assert.equal(result.host.cores > 0, true);

  // The target was profiled: its fused profile sits beside result.json, summed up inside it.
  assert.ok(result.profile, 'result.json carries the profile summary');
  // At 100 Hz a few seconds hold a few dozen samples: their sum is an estimate, it may pass the wall time.
  assert.ok(result.profile.cpu_ms > 0 && result.profile.wall_ms > 0, `cpu ${result.profile.cpu_ms} of ${result.profile.wall_ms} ms`);
  assert.equal(result.profile.requests, 1200, 'warm-up and measured requests');
  assert.ok(result.profile.top_functions.length > 0);
  for (const f of ['flame.html', 'profile.pb.gz', 'stacks.folded']) {
    assert.ok(result.profile.files.includes(f) && existsSync(join(out, f)), `${f} written`);
  }

  // The target ran under the register entry, writing span owners into the run's maps.
  const servers = receiver.spans.filter((s) => s.kind === 'SPAN_KIND_SERVER');
  assert.ok(servers.length >= 100, `warm-up, sampled and slow requests exported: ${servers.length}`);
  assert.ok(servers.every((s) => s.resource['service.name'] === 'wireflame-target'));
  const withKernel = servers.filter((s) => Number(s.attributes['wireflame.kernel.tx_send.bytes']) > 0);
  assert.ok(withKernel.length >= servers.length * 0.95, `${withKernel.length} of ${servers.length} server spans have kernel stages`);
});

/** A target whose event loop stalls for one second, once, `afterMs` after its first request. */
async function stallingTarget(afterMs: number) {
  const app = Fastify();
  let first = 0;
  let stalled = false;
  app.get('/*', async () => ({ ok: true }));
  app.post('/*', async (_req, reply) => reply.code(201).send({ ok: true }));
  app.addHook('onRequest', async () => {
    first ||= Date.now();
    if (!stalled && Date.now() - first > afterMs) {
      stalled = true;
      const until = Date.now() + 1000;
      while (Date.now() < until);
    }
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` };
}

test('a 1 s stall in a fixed-rate run shows in p99 (no coordinated omission); a closed loop hides it', async () => {
  const open = await stallingTarget(1500);
  const o = await wireflame(['run', '--target', open.url, '--rate', '200', '--duration', '4s', '--warmup', '0', '--json', '--out', tmp()]);
  await open.app.close();
  assert.equal(o.code, 0, o.stderr);
  const openResult = JSON.parse(o.stdout) as RunResult;
  // ~200 requests scheduled during the stall wait from up to 1 s down to 0: a quarter of the run.
  assert.ok(openResult.latency_p99_ms >= 800, `open-loop p99 ${openResult.latency_p99_ms} ms`);
  assert.ok(openResult.latency_p95_ms >= 500, `open-loop p95 ${openResult.latency_p95_ms} ms`);

  const closed = await stallingTarget(1500);
  const c = await wireflame(['run', '--target', closed.url, '--connections', '1', '--duration', '4s', '--warmup', '0', '--json', '--out', tmp()]);
  await closed.app.close();
  assert.equal(c.code, 0, c.stderr);
  const closedResult = JSON.parse(c.stdout) as RunResult;
  assert.ok(closedResult.latency_max_ms >= 900, 'the stalled request itself is seen');
  assert.ok(closedResult.latency_p99_ms < 100, `closed-loop p99 ${closedResult.latency_p99_ms} ms hides the stall`);
});

test('bad input: one line, exit code 2, nothing written', async () => {
  const cases: [string[], RegExp][] = [
    [['--scenario', 'nope'], /^wireflame: unknown scenario 'nope' \(known: http-json-api, http-get, redis-read-heavy, pg-write-heavy, api-mixed\)$/],
    [['--duration', '10x'], /^wireflame: --duration: '10x' is not a duration/],
    [['--rate', '-5'], /^wireflame: --rate: '-5' is not a positive number$/],
    [['--connections', '2.5'], /^wireflame: --connections: '2.5' is not a positive whole number$/],
    [['--target', 'http://127.0.0.1:1'], /^wireflame: target http:\/\/127\.0\.0\.1:1 is unreachable \(ECONNREFUSED\)$/],
    [['--target', 'ftp://x'], /^wireflame: --target: only http:\/\/ targets are supported/],
    [['--out', '/etc/hostname/run'], /^wireflame: --out: cannot write to \/etc\/hostname\/run \(ENOTDIR\)$/],
  ];
  for (const [args, message] of cases) {
    const out = args.includes('--out') ? [] : ['--out', join(tmp(), 'never')];
    const r = await wireflame(['run', '--duration', '1s', ...out, ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr.trim(), message, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}`);
    if (!args.includes('--out')) assert.ok(!existsSync(join(out[1]!, 'result.json')));
  }
});

function targetProcesses(): string[] {
  try {
    return execFileSync('pgrep', ['-f', 'src/load/target/server.ts'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}


test('Ctrl-C: the partial result is written, probes detach, the embedded target stops', async () => {
  const out = tmp();
  const child = spawnWireflame(['run', '--duration', '60s', '--warmup', '0', '--rate', '200', '--out', out]);
  let stdout = '';
  child.stdout!.on('data', (d) => (stdout += d));
  // Start-up (programs, backends, the traced target) takes 1 to 2 s of it.
  await new Promise((r) => setTimeout(r, 4000));
  assert.ok(wireflamePrograms().length > 0, 'probes attached during the run');
  child.kill('SIGINT');
  const [code] = await once(child, 'exit');
  assert.equal(code, 130);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as RunResult;
  assertValidResult(result);
  assert.equal(result.partial, true);
  assert.ok(result.duration_sec > 1 && result.duration_sec < 10, `measured ${result.duration_sec} s`);
  assert.ok(result.requests_total > 100);
  assert.match(stdout, /partial: interrupted/);
  assert.deepEqual(await programsLeft(), []);
  assert.deepEqual(targetProcesses(), []);
});

test('without kernel access the run goes on, and the result says why the stages are missing', async () => {
  const out = tmp();
  // Root with every capability dropped: the files stay reachable, bpf() does not.
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(
      'setpriv',
      ['--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all', process.execPath, CLI, 'run', '--duration', '1s', '--warmup', '0', '--rate', '100', '--json', '--out', out],
      { env: { ...process.env, WIREFLAME_CLOUD: 'off' } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as RunResult;
  assert.equal(result.kernel.available, false);
  assert.equal(result.kernel.reason, 'kernel stages off: missing CAP_BPF and CAP_PERFMON (run as root or grant them)');
  assert.ok(result.requests_total >= 95, `the load ran: ${result.requests_total} requests`);
  assert.ok(result.verdict.missing.includes('kernel stages'));
});

test('a progress line on a terminal, none otherwise', async () => {
  const out = tmp();
  // util-linux `script` gives the run a pseudo-terminal; the command is fixed, not built from input.
  const tty = await new Promise<string>((resolve) => {
    const child = spawn(
      'script',
      ['-qfec', `${process.execPath} ${CLI} run --duration 2500ms --warmup 0 --rate 50 --out ${out}`, '/dev/null'],
      { env: { ...process.env, WIREFLAME_CLOUD: 'off' } },
    );
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.on('exit', () => resolve(text));
  });
  assert.match(tty, /\r\x1b\[2Kmeasure +\ds\/2s +\d+ req\/s +p99 [\d.]+ ms +errors 0 +in flight \d+/);
  assert.match(tty, /verdict: /);

  const piped = await wireflame(['run', '--duration', '1s', '--warmup', '0', '--rate', '50', '--out', tmp()]);
  assert.equal(piped.code, 0);
  assert.doesNotMatch(piped.stderr + piped.stdout, /req\/s +p99/, 'quiet when not on a terminal');
});

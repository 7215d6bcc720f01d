/**
 * Daemon mode: `wireflame agent` loads the programs and pins the maps; the
 * service, started with the register entry as an unprivileged user, only
 * writes the pinned maps, and its spans still carry kernel stages.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { startPostgres } from '../src/load/backends/postgres.ts';
import { startRedis } from '../src/load/backends/redis.ts';
import type { Backend } from '../src/load/backends/child.ts';
import { spawnWireflame } from './helpers/cli.ts';
import { startOtlpReceiver, type OtlpReceiver } from './helpers/otlp-receiver.ts';
import { NOBODY, fixture, nobodyCanRun, startTracedService, type TracedService } from './helpers/service.ts';

const pinDir = `/sys/fs/bpf/wireflame-daemon-test-${process.pid}`;

let redis: Backend;
let postgres: Backend;
let receiver: OtlpReceiver;
let agent: ChildProcess;
let service: TracedService | undefined;

before(async () => {
  [redis, postgres, receiver] = await Promise.all([startRedis(), startPostgres(), startOtlpReceiver()]);
  agent = spawnWireflame(['agent', '--all', '--pin-dir', pinDir, '--pin-group', String(NOBODY.gid)]);
  const [line] = (await once(agent.stdout!.setEncoding('utf8'), 'data')) as [string];
  assert.equal((JSON.parse(line) as { ready: boolean }).ready, true);
});

after(async () => {
  await service?.stop();
  agent?.kill('SIGTERM');
  if (agent) await once(agent, 'exit');
  await Promise.all([receiver?.close(), redis?.stop(), postgres?.stop()]);
});

test('a service run as nobody writes only the agent\'s pinned maps and its spans carry kernel stages', async (t) => {
  const script = fixture('traced-service.ts');
  const asNobody = nobodyCanRun(script);
  if (!asNobody) t.diagnostic('the checkout is not readable by nobody: the service runs as root, still only with the agent\'s maps (WIREFLAME_KERNEL=agent)');
  service = await startTracedService(
    script,
    {
      WIREFLAME_REDIS_URL: redis.url,
      WIREFLAME_PG_URL: postgres.url,
      WIREFLAME_OTLP_ENDPOINT: receiver.endpoint,
      WIREFLAME_EXPORT_RATIO: '1',
      WIREFLAME_EXPORT_RATE: '0',
      // agent: never load programs, only open the pins.
      WIREFLAME_KERNEL: 'agent',
      WIREFLAME_PIN_DIR: pinDir,
    },
    asNobody ? NOBODY : {},
  );
  for (let i = 0; i < 5; i++) await (await fetch(`${service.url}/visit/${300 + i}`)).text();
  const spans = await receiver.waitFor((all) => all.filter((s) => s.kind === 'SPAN_KIND_SERVER').length >= 5);
  assert.doesNotMatch(service.stderr(), /kernel stages off/);
  for (const server of spans.filter((s) => s.kind === 'SPAN_KIND_SERVER')) {
    assert.ok(Number(server.attributes['wireflame.kernel.tx_send.bytes']) > 300, 'the server span has its sent bytes');
    const backend = spans.filter((s) => s.parentSpanId === server.spanId && (s.name === 'redis GET' || s.name === 'pg INSERT'));
    assert.equal(backend.length, 2);
    for (const b of backend) assert.ok(Number(b.attributes['wireflame.kernel.peer_wait.count']) >= 1, `${b.name} has its peer wait`);
  }
});

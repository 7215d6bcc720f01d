// Daemon mode: `wireflame agent` loads the programs and pins the maps; this
// process only opens the pinned maps, tags a socket, and reads its span's
// kernel time back. When the agent stops, its pins and programs are gone.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { PinnedMaps } from '../src/kernel/pinned.ts';
import { KernelUnavailableError } from '../src/kernel/session.ts';
import { spawnWireflame } from './helpers/cli.ts';
import { closeSocket, connect, echoServer, roundTrip } from './helpers/tcp.ts';
import { programsLeft } from './helpers/bpf.ts';

const pinDir = `/sys/fs/bpf/wireflame-test-${process.pid}`;


let agent: ChildProcess | undefined;
after(() => agent?.kill('SIGKILL'));

test('a service tags its socket through the agent\'s pinned maps and reads its kernel time back', async (t) => {
  agent = spawnWireflame(['agent', '--pid', String(process.pid), '--pin-dir', pinDir]);
  const [line] = (await once(agent.stdout!.setEncoding('utf8'), 'data')) as [string];
  const ready = JSON.parse(line) as { ready: boolean; pinDir: string; hooks: Record<string, string> };
  assert.equal(ready.ready, true);
  assert.equal(ready.hooks.tcp_sendmsg, 'sockops');
  assert.ok(existsSync(`${pinDir}/wf_owners`), 'the shared map is pinned');

  const maps = PinnedMaps.open(pinDir);
  assert.equal(maps.sendEndsAtDriver, true, 'the pinned config says a send ends when the driver took its last byte');
  const { server, port } = await echoServer(3);
  // A failed assertion must not leave the server open: the test file would never exit.
  t.after(() => server.close());
  const client = await connect(port);
  const owner = { traceId: '5'.repeat(32), spanId: '6'.repeat(16) };
  maps.setOwner(maps.socketCookie(client), owner);
  await roundTrip(client, 1000, 3000);
  await roundTrip(client, 2000, 6000);
  await new Promise((r) => setTimeout(r, 20));
  const stats = maps.takeSpanStats(owner);
  assert.ok(stats, 'the agent\'s programs attributed kernel time to the span');
  assert.equal(stats.tx_send.bytes, 3000);
  assert.equal(stats.tx_send.count, 2);
  assert.equal(stats.rx_queue.bytes, 9000);
  await closeSocket(client);
  maps.close();

  agent.kill('SIGTERM');
  const [code] = await once(agent, 'exit');
  assert.equal(code, 0);
  assert.ok(!existsSync(pinDir), 'pins removed');
  assert.deepEqual(await programsLeft(), []);
});

test('without an agent, opening its maps says so in one line', () => {
  assert.throws(
    () => PinnedMaps.open(pinDir),
    (err: unknown) =>
      err instanceof KernelUnavailableError &&
      /^kernel stages off: no Wireflame agent maps in \/sys\/fs\/bpf\/wireflame-test-\d+ \(ENOENT\): is wireflame agent running\?$/.test(err.message),
  );
});

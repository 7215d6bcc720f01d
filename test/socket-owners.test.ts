/**
 * SocketOwners against the real kernel: a span that owns a connected socket
 * gets that socket's send and receive time, through its slot or, when
 * another socket holds the slot, through the shared hash; a second owner of
 * the same socket gets only what happened after it took over.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SLOTS } from '../src/kernel/layout.ts';
import { KernelSession } from '../src/kernel/session.ts';
import { SocketOwners, type KernelHold } from '../src/trace/socket-owners.ts';
import { SpanId, TraceId } from '../src/trace/trace-context.ts';
import { connect, echoServer, roundTrip, type EchoServer } from './helpers/tcp.ts';

let session: KernelSession;
let echo: EchoServer;

before(async () => {
  session = KernelSession.open({ filter: { kind: 'pids', pids: [process.pid] }, sharedOwners: true });
  echo = await echoServer(4);
});
after(() => {
  echo?.server.close();
  session?.close();
});

/** The hold's stages once its send stage counts `bytes` (the kernel may add them a little after the echo came back). */
async function sentBytes(owners: SocketOwners, hold: KernelHold, bytes: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const sent = owners.read(hold)?.tx_send?.bytes ?? 0;
    if (sent >= bytes) return sent;
    await sleep(10);
  }
  return owners.read(hold)?.tx_send?.bytes ?? 0;
}

for (const path of ['slot', 'hash'] as const) {
  test(`a socket's owners each get their own send time, through the ${path}`, async () => {
    const owners = new SocketOwners(session);
    const client = await connect(echo.port);
    // Another live socket's cookie in this socket's slot, for the hash path.
    const other = session.socketCookie(client) ^ BigInt(SLOTS);
    try {
      if (path === 'hash') assert.ok(session.slots().claim(other) >= 0);
      const first = owners.own(client, TraceId.random(), SpanId.random(), false);
      assert.ok(first, 'the socket is tagged');
      assert.equal(first.slot >= 0, path === 'slot');
      await roundTrip(client, 3000, 12_000);
      assert.equal(await sentBytes(owners, first, 3000), 3000);

      const second = owners.own(client, first.trace, SpanId.random(), false);
      assert.ok(second);
      await roundTrip(client, 5000, 20_000);
      assert.equal(await sentBytes(owners, second, 5000), 5000, "the second owner's bytes only");
      assert.equal(owners.read(first)?.tx_send?.bytes, 3000, "the first owner's bytes stay its own");
      assert.deepEqual(
        [owners.counters.slotWrites, owners.counters.hashWrites],
        path === 'slot' ? [2, 0] : [0, 2],
      );
    } finally {
      client.destroy();
      if (path === 'hash') session.slots().release(Number(other % BigInt(SLOTS)), other);
    }
  });
}

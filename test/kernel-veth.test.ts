// Device-queue time is real: through a veth pair with a slow tbf qdisc, the
// bytes we send wait in the qdisc and the probes say so; on loopback they do not.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { KernelSession } from '../src/kernel/session.ts';
import type { KernelEvent } from '../src/kernel/codec.ts';
import { createTestHost } from './helpers/netns.ts';
import { ackServer, closeSocket, connect, roundTrip } from './helpers/tcp.ts';

const CHUNK = 64 * 1024;
const ROUNDS = 8;

// ackServer from helpers/tcp.ts, run inside the namespace: prints its port.
const sink = `
  const { ackServer } = await import(${JSON.stringify(new URL('./helpers/tcp.ts', import.meta.url).href)});
  const { port } = await ackServer(${CHUNK}, '0.0.0.0');
  console.log(port);`;

const session = KernelSession.open({ eventSample: 1 });
const events: KernelEvent[] = [];
session.onEvents((b) => events.push(...b), 10);
after(() => session.close());

/** Sends ROUNDS chunks, each after the previous was acknowledged; returns its dev_queue events. */
async function sendChunks(host: string, port: number): Promise<KernelEvent[]> {
  const socket = await connect(port, host);
  const local = socket.localPort!;
  for (let i = 0; i < ROUNDS; i++) await roundTrip(socket, CHUNK, 1);
  await closeSocket(socket);
  await session.flushEvents();
  return events.splice(0).filter((e) => e.stage === 'dev_queue' && e.sport === local);
}

const ms = (ns: bigint) => Number(ns) / 1e6;

test('a slow tbf qdisc on a veth shows as device-queue time; loopback shows about none', async () => {
  const host = createTestHost({ rate: '50mbit' });
  try {
    const { firstLine } = await host.runNode(sink);
    const slow = await sendChunks(host.address, Number(firstLine));

    const { server, port } = await ackServer(CHUNK);
    const fast = await sendChunks('127.0.0.1', port);
    server.close();

    const bytes = (list: KernelEvent[]) => list.reduce((a, e) => a + e.bytes, 0);
    if (bytes(slow) !== CHUNK * ROUNDS) {
      // A short count says where the bytes went: late, not seen, map full, or events dropped.
      await new Promise((r) => setTimeout(r, 500));
      await session.flushEvents();
      const late = events.splice(0).filter((e) => e.stage === 'dev_queue' && e.sport === slow[0]?.sport);
      const c = session.counters();
      const ranges = slow.map((e) => `${e.seq}+${e.bytes}`).join(' ');
      const why = `${slow.length} events (${ranges}), ${late.length} more after 500 ms; dev_queue hits ${c.dev_queue.hits}, map full ${c.dev_queue.mapFull}; dev_xmit hits ${c.dev_xmit.hits}; event drops ${Object.values(c).reduce((a, k) => a + k.eventDrops, 0n)}`;
      assert.fail(`${bytes(slow)} of ${CHUNK * ROUNDS} bytes through the veth seen at the device queue: ${why}`);
    }
    assert.equal(bytes(fast), CHUNK * ROUNDS, 'every byte through loopback too');
    const slowMax = slow.reduce((m, e) => (e.durationNs > m ? e.durationNs : m), 0n);
    const slowSum = slow.reduce((a, e) => a + e.durationNs, 0n);
    const fastMax = fast.reduce((m, e) => (e.durationNs > m ? e.durationNs : m), 0n);
    // 64 KB at 50 Mbit/s is ~10 ms on the wire: segments behind others wait milliseconds.
    console.log(`device queue max: veth+tbf ${ms(slowMax)} ms, loopback ${ms(fastMax)} ms`);
    assert.ok(ms(slowMax) > 2, `veth+tbf device queue max ${ms(slowMax)} ms`);
    assert.ok(ms(slowSum) > 10, `veth+tbf device queue total ${ms(slowSum)} ms`);
    assert.ok(ms(fastMax) < 1, `loopback device queue max ${ms(fastMax)} ms`);
  } finally {
    host.remove();
  }
});

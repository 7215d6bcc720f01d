// Device-queue time is real: through a veth pair with a slow tbf qdisc, the
// bytes we send wait in the qdisc and the probes say so; on loopback they do not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelSession } from '../src/kernel/session.ts';
import type { KernelEvent } from '../src/kernel/codec.ts';
import { createTestHost } from './helpers/netns.ts';
import { sendPaths } from './helpers/send-paths.ts';
import { ackServer, closeSocket, connect, roundTrip } from './helpers/tcp.ts';

const CHUNK = 64 * 1024;
const ROUNDS = 8;

const events: KernelEvent[] = [];

/** Sends ROUNDS chunks, each after the previous was acknowledged; returns its dev_queue events. */
async function sendChunks(session: KernelSession, host: string, port: number): Promise<KernelEvent[]> {
  const socket = await connect(port, host);
  const local = socket.localPort!;
  for (let i = 0; i < ROUNDS; i++) await roundTrip(socket, CHUNK, 1);
  await closeSocket(socket);
  await session.flushEvents();
  return events.splice(0).filter((e) => e.stage === 'dev_queue' && e.sport === local);
}

const ms = (ns: bigint) => Number(ns) / 1e6;

for (const path of sendPaths()) {
  test(`${path.name} send path: a slow tbf qdisc on a veth shows as device-queue time; loopback shows about none`, { skip: path.missing ?? false }, async () => {
    const session = KernelSession.open({ eventSample: 1, prober: path.prober });
    session.onEvents((b) => events.push(...b), 10);
    // Every chunk queues, however slowly this machine runs: a bucket of 96 KB
    // refills 64 KB (a chunk) in 26 ms at 20 Mbit/s, far longer than the
    // pause between chunks. (With 256 KB at 50 Mbit/s, the first rounds went
    // through the bucket, and on a slow run the refill in the pauses kept
    // the last ones from queueing much: one run in ~20 saw under 1 ms.)
    const host = createTestHost({ rate: '20mbit', burst: '96kb' });
    try {
      assert.equal(session.hooks.find((h) => h.name === 'dev_xmit')?.mode, path.mode);
      const slow = await sendChunks(session, host.address, await host.ackServer(CHUNK));

      const { server, port } = await ackServer(CHUNK);
      const fast = await sendChunks(session, '127.0.0.1', port);
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
      // Timed per send call, on both paths: a span's bytes have left once its calls' device-queue stages cover them.
      assert.deepEqual(slow.map((e) => e.bytes), Array(ROUNDS).fill(CHUNK), 'one device-queue stage per call');
      const slowMax = slow.reduce((m, e) => (e.durationNs > m ? e.durationNs : m), 0n);
      const fastMax = fast.reduce((m, e) => (e.durationNs > m ? e.durationNs : m), 0n);
      // 64 KB at 20 Mbit/s is ~26 ms on the wire once tbf's burst is spent.
      // A call's last bytes wait in the qdisc behind what TCP small queues
      // let in ahead of them (the rest wait in the socket, as send time):
      // 15-19 ms here, so above 1 ms on the veth; below 0.5 ms on loopback.
      console.log(`device queue max: veth+tbf ${ms(slowMax)} ms, loopback ${ms(fastMax)} ms`);
      assert.ok(ms(slowMax) > 1, `veth+tbf device queue max ${ms(slowMax)} ms`);
      assert.ok(ms(fastMax) < 0.5, `loopback device queue max ${ms(fastMax)} ms`);
    } finally {
      host.remove();
      session.close();
    }
  });
}

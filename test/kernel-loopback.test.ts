// The eBPF programs on the real kernel, with real TCP on loopback: stages,
// byte counts, sequence matching, tagging through the shared map, filtering,
// and clean detach. Runs as root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type net from 'node:net';
import { KernelSession } from '../src/kernel/session.ts';
import type { KernelEvent } from '../src/kernel/codec.ts';
import { closeSocket, connect, echoServer, roundTrip } from './helpers/tcp.ts';
import { holdStateSlot, programsLeft, stateSlot, stateSlotHolder, wireflamePrograms } from './helpers/bpf.ts';
import { sendPaths } from './helpers/send-paths.ts';

let session: KernelSession;
let events: KernelEvent[] = [];
let server: net.Server;
let port: number;
let connections: Map<number, net.Socket>;

const owner = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };

for (const path of sendPaths()) {
  describe(`the ${path.name} send path`, { skip: path.missing ?? false }, () => {
    let early: net.Socket;

    before(async () => {
      ({ server, port, connections } = await echoServer(10));
      early = await connect(port);
      session = KernelSession.open({ eventSample: 1, wakeupBytes: 4096, prober: path.prober });
      assert.equal(session.hooks.find((h) => h.name === 'tcp_sendmsg')?.mode, path.mode);
      session.onEvents((batch) => events.push(...batch), 10);
    });

    after(() => {
      server.close();
      session.close();
    });

    /** Events since the last call, once the kernel's are all delivered. */
    async function drain(): Promise<KernelEvent[]> {
      await session.flushEvents();
      const out = events;
      events = [];
      return out;
    }

    const of = (list: KernelEvent[], stage: KernelEvent['stage'], localPort: number) =>
      list.filter((e) => e.stage === stage && e.sport === localPort);

    test('send, transmit and receive stages carry the right ports and byte counts', async () => {
      const client = await connect(port);
      const local = client.localPort!;
      for (const size of [100, 200, 300]) await roundTrip(client, size, size * 10);
      await closeSocket(client);
      const list = await drain();

      for (const stage of ['tx_first', 'tx_send', 'dev_queue'] as const) {
        assert.deepEqual(of(list, stage, local).map((e) => e.bytes), [100, 200, 300], `client ${stage}`);
        assert.deepEqual(of(list, stage, port).map((e) => e.bytes), [1000, 2000, 3000], `server ${stage}`);
      }
      assert.deepEqual(of(list, 'rx_queue', port).map((e) => e.bytes), [100, 200, 300], 'server reads the requests');
      assert.deepEqual(of(list, 'rx_queue', local).map((e) => e.bytes), [1000, 2000, 3000], 'client reads the responses');
      for (const e of of(list, 'tx_send', local)) {
        assert.equal(e.dport, port);
        assert.equal(e.saddr, '127.0.0.1');
        assert.equal(e.daddr, '127.0.0.1');
        assert.equal(e.tgid, process.pid);
        assert.ok(e.durationNs > 0n && e.durationNs < 50_000_000n, `send path ${e.durationNs} ns`);
      }
    });

    test('a connection made before the probes attached is timed like a new one', async () => {
      for (const size of [100, 200]) await roundTrip(early, size, size * 10);
      const local = early.localPort!;
      await closeSocket(early);
      const list = await drain();
      for (const stage of ['tx_send', 'dev_queue'] as const) {
        assert.deepEqual(of(list, stage, local).map((e) => e.bytes), [100, 200], `client ${stage}`);
        assert.deepEqual(of(list, stage, port).map((e) => e.bytes), [1000, 2000], `server ${stage}`);
      }
    });

    test('each sendmsg call on a keep-alive socket is matched to its own bytes by sequence', async () => {
      const client = await connect(port);
      const local = client.localPort!;
      const sizes = Array.from({ length: 20 }, (_, i) => 37 + i * 101);
      for (const size of sizes) await roundTrip(client, size, size * 10);
      // Back to back, without waiting: calls in flight together still match one to one.
      const burst = [1500, 9000, 64, 70000, 3];
      const done = roundTrip(client, 0, burst.reduce((a, b) => a + b, 0) * 10);
      for (const size of burst) client.write(Buffer.alloc(size, 0x61));
      await done;
      await closeSocket(client);
      const sends = of(await drain(), 'tx_send', local);

      assert.deepEqual(sends.map((e) => e.bytes), [...sizes, ...burst]);
      for (let i = 1; i < sends.length; i++) {
        assert.equal(sends[i]!.seq, sends[i - 1]!.seqEnd, `call ${i} starts where call ${i - 1} ended`);
        assert.equal((sends[i]!.seqEnd - sends[i]!.seq) >>> 0, sends[i]!.bytes);
      }
    });

    test('a socket keeps its state in its own slot, freed at close; when another holds the slot, in socket storage', async () => {
      const client = await connect(port);
      await roundTrip(client, 100, 1000);
      const cookie = session.socketCookie(client);
      assert.equal(stateSlotHolder(stateSlot(cookie)), cookie, 'the socket holds its slot');
      await closeSocket(client);
      for (let i = 0; i < 50 && stateSlotHolder(stateSlot(cookie)) !== 0n; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(stateSlotHolder(stateSlot(cookie)), 0n, 'closing frees it');

      const crowded = await connect(port);
      const local = crowded.localPort!;
      const crowdedCookie = session.socketCookie(crowded);
      const slot = stateSlot(crowdedCookie);
      holdStateSlot(slot, crowdedCookie + 1n);
      try {
        await drain();
        await roundTrip(crowded, 200, 2000);
        await roundTrip(crowded, 300, 3000);
        const list = await drain();
        for (const stage of ['tx_send', 'dev_queue'] as const) assert.deepEqual(of(list, stage, local).map((e) => e.bytes), [200, 300], stage);
        assert.deepEqual(of(list, 'rx_queue', local).map((e) => e.bytes), [2000, 3000]);
        assert.equal(stateSlotHolder(slot), crowdedCookie + 1n, 'the slot stayed with its holder');
        await closeSocket(crowded);
      } finally {
        holdStateSlot(slot, 0n);
      }
    });

    test('a shared-map write tags that socket and no other', async () => {
      const tagged = await connect(port);
      const other = await connect(port);
      const taggedPort = tagged.localPort!;
      const cookie = session.socketCookie(tagged);
      session.setOwner(cookie, owner);
      assert.deepEqual(session.owner(cookie), { ...owner, server: false });

      await roundTrip(tagged, 400, 4000);
      await roundTrip(other, 500, 5000);
      await roundTrip(tagged, 600, 6000);
      const list = await drain();

      const taggedEvents = list.filter((e) => e.sport === taggedPort);
      assert.ok(taggedEvents.length >= 8);
      for (const e of taggedEvents) assert.deepEqual([e.traceId, e.spanId], [owner.traceId, owner.spanId], e.stage);
      for (const e of list.filter((e) => e.sport !== taggedPort)) assert.equal(e.traceId, '', `untagged ${e.stage} on ${e.sport}`);

      const stats = session.takeSpanStats(owner);
      assert.ok(stats, 'the span has kernel time');
      assert.equal(stats.tx_send.count, 2);
      assert.equal(stats.tx_send.bytes, 1000);
      assert.equal(stats.rx_queue.bytes, 10000);
      assert.equal(stats.dev_queue.bytes, 1000);
      assert.ok(stats.tx_send.maxNs <= stats.tx_send.sumNs && stats.tx_send.sumNs > 0);
      assert.equal(session.takeSpanStats(owner), null, 'reading deletes');

      await closeSocket(tagged);
      await closeSocket(other);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(session.owner(cookie), null, 'closing the socket removes its shared-map entry');
    });

    test('a server owner parks its received bytes for the request they start', async () => {
      const client = await connect(port);
      await roundTrip(client, 10, 100);
      const serverSide = connections.get(client.localPort!);
      assert.ok(serverSide, 'the server side of the connection');
      const cookie = session.socketCookie(serverSide);
      session.takeRxPending(cookie);
      const serverOwner = { traceId: 'aa'.repeat(16), spanId: 'bb'.repeat(8), server: true };
      session.setOwner(cookie, serverOwner);

      await roundTrip(client, 700, 7000);
      await drain();
      const pending = session.takeRxPending(cookie);
      assert.ok(pending, 'the request bytes wait for their request');
      assert.equal(pending.count, 1);
      assert.equal(pending.bytes, 700);
      const stats = session.takeSpanStats(serverOwner);
      assert.ok(stats, 'the server owner has its send time');
      assert.equal(stats.rx_queue.count, 0, 'but not the next request\'s receive wait');
      assert.equal(stats.tx_send.bytes, 7000);
      await closeSocket(client);
    });

    test('processes outside the filter are not recorded until added', async () => {
      const script = `
        const net = require('node:net');
        const srv = net.createServer((c) => c.on('data', (d) => c.write(d)));
        srv.listen(0, '127.0.0.1', () => {
          const c = net.connect(srv.address().port, '127.0.0.1', () => {
            process.stdin.on('data', () => c.write('ping'));
            c.on('data', () => process.stdout.write('pong\\n'));
            process.stdout.write('ready\\n');
          });
        });`;
      const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
      const lines = child.stdout.setEncoding('utf8');
      const next = async () => (await once(lines, 'data'))[0] as string;
      assert.match(await next(), /ready/);

      const sends = () => session.counters().tcp_sendmsg.hits;
      const beforeHits = sends();
      child.stdin.write('x');
      assert.match(await next(), /pong/);
      assert.equal(sends(), beforeHits, 'another process is not observed');

      session.addPid(child.pid!);
      child.stdin.write('x');
      assert.match(await next(), /pong/);
      const addedHits = sends();
      assert.ok(addedHits >= beforeHits + 2n, 'added to the pid set, it is');
      session.removePid(child.pid!);
      child.stdin.write('x');
      assert.match(await next(), /pong/);
      assert.equal(sends(), addedHits, 'removed, its sockets are no longer recorded');
      child.kill();
      await drain();
    });
  });
}

test('no program stays attached after the process exits, even when killed', async () => {
  assert.deepEqual(await programsLeft(), [], 'closing detaches');
  const code = `
    const { KernelSession } = await import(${JSON.stringify(new URL('../src/kernel/session.ts', import.meta.url).href)});
    const session = KernelSession.open();
    process.stdout.write('attached ' + session.attached.length + '\\n');
    if (process.argv[1] === 'hang') setInterval(() => {}, 1000);`;
  for (const mode of ['exit', 'hang']) {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    const attached = /attached (\d+)/.exec((await once(child.stdout.setEncoding('utf8'), 'data'))[0] as string);
    assert.ok(attached, 'the child attached its programs');
    if (mode === 'hang') {
      assert.equal(wireflamePrograms().length, Number(attached[1]), 'all of them are loaded');
      child.kill('SIGKILL');
    }
    await once(child, 'exit');
    assert.deepEqual(await programsLeft(), [], `nothing left after ${mode}`);
  }
});

// Choosing attach points by trial: when the probe says fentry and kprobes
// are there but the kernel refuses them (as this machine's does: fentry
// fails to load with EPERM, kprobes cannot attach), each hook falls back to
// the next mode, says why, and measures all the same. This kernel has BPF
// timestamping, which comes first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNative } from '../src/kernel/addon.ts';
import type { KernelEvent } from '../src/kernel/codec.ts';
import { KernelSession, nativeProber } from '../src/kernel/session.ts';
import { hooksThatFire } from '../src/kernel/live-check.ts';
import { createTestHost } from './helpers/netns.ts';
import { closeSocket, connect, roundTrip } from './helpers/tcp.ts';

const CHUNK = 64 * 1024;
const ROUNDS = 8;

test('refused modes fall back one by one to tp_btf, with the reasons kept', async () => {
  // Timestamping taken away (it loads here), fentry and kprobes claimed.
  const session = KernelSession.open({ prober: (kind) => (kind === 'kfunc' ? 'ENOENT' : true) });
  try {
    const send = session.hooks.find((h) => h.name === 'tcp_sendmsg')!;
    const out = session.hooks.find((h) => h.name === 'ip_local_out')!;
    for (const hook of [send, out]) {
      assert.equal(hook.mode, 'tp_btf', hook.name);
      assert.equal(hook.notes.length, 4, hook.notes.join('; '));
      assert.match(hook.notes[2]!, /^fentry .*: failed to (load|attach)/);
      assert.match(hook.notes[3]!, /^kprobe .*: failed to (load|attach)/);
    }
    assert.ok(!session.attached.some((p) => /fentry|kprobe|sockops/.test(p)), 'no refused program stays attached');
    const fired = await hooksThatFire(session);
    assert.deepEqual(Object.values(fired), Object.values(fired).map(() => true), JSON.stringify(fired));
  } finally {
    session.close();
  }
});

test('where the kernel stamps sends, the three send hooks take timestamping before any refused mode is tried', async () => {
  const session = KernelSession.open({ prober: () => true });
  try {
    for (const hook of session.hooks) {
      assert.equal(hook.mode, ['tcp_sendmsg', 'ip_local_out', 'dev_xmit'].includes(hook.name) ? 'sockops' : 'tp_btf', hook.name);
      assert.deepEqual(hook.notes, [], hook.name);
    }
    const fired = await hooksThatFire(session);
    assert.deepEqual(Object.values(fired), Object.values(fired).map(() => true), JSON.stringify(fired));
  } finally {
    session.close();
  }
});

test('a send call whose transmit no hook saw still ends, when the peer acknowledges its bytes, and is counted late', async () => {
  // The tracepoints, without the driver's: every call waits at the device
  // queue for a transmit that never comes, as when a tracepoint's program
  // does not run for a hit.
  const real = nativeProber(loadNative());
  const session = KernelSession.open({
    eventSample: 1,
    prober: (kind, name) => (kind === 'kfunc' || name === 'net_dev_start_xmit' ? 'ENOENT' : real(kind, name)),
  });
  const events: KernelEvent[] = [];
  session.onEvents((batch) => events.push(...batch), 10);
  // A device with a queue: loopback's calls end as they enter it.
  const host = createTestHost({ rate: '1gbit' });
  try {
    assert.equal(session.hooks.find((h) => h.name === 'dev_xmit')?.mode, 'unavailable');
    const socket = await connect(await host.ackServer(CHUNK), host.address);
    const local = socket.localPort!;
    for (let i = 0; i < ROUNDS; i++) await roundTrip(socket, CHUNK, 1);
    await closeSocket(socket);
    await session.flushEvents();
    const mine = events.filter((e) => e.sport === local);
    const bytes = (stage: string) => mine.filter((e) => e.stage === stage).reduce((a, e) => a + e.bytes, 0);
    assert.equal(bytes('tx_send'), CHUNK * ROUNDS, 'every call sent');
    assert.equal(bytes('dev_queue'), CHUNK * ROUNDS, 'every call through the device queue');
    // When it left the queue is not known: none rather than a guess.
    assert.ok(mine.filter((e) => e.stage === 'dev_queue').every((e) => e.durationNs === 0n));
    assert.equal(session.counters().rx_ready.late, BigInt(ROUNDS));
  } finally {
    host.remove();
    session.close();
  }
});

/**
 * Raw events end to end: every stage of every request of a saturated fastify
 * hello target written to the ring buffer (sampling 1 in 1) and delivered to
 * JavaScript in batches, against aggregates only. Prints events per second
 * delivered, drops, and what raw events cost in throughput.
 *
 *   node bench/event-throughput.ts [--seconds 5] [--sample 1]
 */
import { parseArgs } from 'node:util';
import { HOOK_COUNTERS } from '../src/kernel/layout.ts';
import { KernelSession } from '../src/kernel/session.ts';
import { startTarget } from './lib/target.ts';
import { wrk } from './lib/wrk.ts';
import { reportStealAtExit } from './lib/cpu.ts';

reportStealAtExit();

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, sample: { type: 'string', default: '1' } } });
const load = { seconds: Number(values.seconds), connections: 32, cpu: 0 };
const { child, port } = await startTarget('hello-server.ts', { cpu: 1 });
const url = `http://127.0.0.1:${port}/`;

async function measure(eventSample: number) {
  const session = KernelSession.open({ filter: { kind: 'pids', pids: [child.pid!] }, eventSample });
  let delivered = 0;
  let batches = 0;
  if (eventSample > 0) {
    session.onEvents((events) => {
      delivered += events.length;
      batches++;
    });
  }
  try {
    const { rps } = await wrk(url, load);
    await session.flushEvents();
    const counters = session.counters();
    const drops = HOOK_COUNTERS.reduce((a, h) => a + counters[h].eventDrops, 0n);
    return { rps, delivered, batches, drops };
  } finally {
    session.close();
  }
}

try {
  await wrk(url, { ...load, seconds: 2 });
  const off = await measure(0);
  const on = await measure(Number(values.sample));
  console.log(`fastify hello (CPU 1), wrk -t1 -c32 (CPU 0), ${load.seconds}s each`);
  console.log(`aggregates only:     ${off.rps.toFixed(0)} req/s`);
  console.log(`raw events 1 in ${values.sample}:  ${on.rps.toFixed(0)} req/s (${((on.rps / off.rps) * 100).toFixed(1)} %)`);
  console.log(`events delivered:    ${(on.delivered / load.seconds).toFixed(0)} /s in ${on.batches} batches (${(on.delivered / Math.max(1, on.batches)).toFixed(0)} per batch), dropped ${on.drops}`);
} finally {
  child.kill();
}

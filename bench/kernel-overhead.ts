/**
 * What the kernel probes cost a saturated service. The fastify hello target
 * is driven by wrk, alternating runs with the probes off and on (attached to
 * the target's pid, aggregating in the kernel, no raw events); medians of the
 * interleaved runs give the throughput ratio. With kernel.bpf_stats enabled
 * during the "on" runs, run_time_ns / run_cnt gives each program's cost per hit.
 *
 *   node bench/kernel-overhead.ts [--pairs 5] [--seconds 5] [--connections 32]
 */
import { parseArgs } from 'node:util';
import { loadNative } from '../src/kernel/addon.ts';
import { KernelSession } from '../src/kernel/session.ts';
import { startTarget } from './lib/target.ts';
import { median, wrk } from './lib/wrk.ts';

const { values } = parseArgs({
  options: {
    pairs: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
  },
});
const pairs = Number(values.pairs);
const load = { seconds: Number(values.seconds), connections: Number(values.connections) };

const { child, port } = await startTarget('hello-server.ts');
const url = `http://127.0.0.1:${port}/`;
const native = loadNative();
const off: number[] = [];
const on: number[] = [];
const perProgram = new Map<string, { ns: bigint; cnt: bigint }>();

try {
  await wrk(url, { ...load, seconds: 2 }); // warm-up: JIT and connection setup
  for (let i = 0; i < pairs; i++) {
    off.push(await wrk(url, load));

    const session = KernelSession.open({ filter: { kind: 'pids', pids: [child.pid!] } });
    const statsFd = native.enableStats();
    try {
      on.push(await wrk(url, load));
      for (const p of session.programStats()) {
        const acc = perProgram.get(p.name) ?? { ns: 0n, cnt: 0n };
        perProgram.set(p.name, { ns: acc.ns + p.runTimeNs, cnt: acc.cnt + p.runCnt });
      }
    } finally {
      native.closeFd(statsFd);
      session.close();
    }
    process.stderr.write(`pair ${i + 1}/${pairs}: off ${off.at(-1)!.toFixed(0)} req/s, on ${on.at(-1)!.toFixed(0)} req/s\n`);
  }
} finally {
  child.kill();
}

const ratio = median(on) / median(off);
console.log(`fastify hello, wrk -t1 -c${load.connections}, ${pairs} interleaved pairs of ${load.seconds}s`);
console.log(`probes off: median ${median(off).toFixed(0)} req/s  [${off.map((v) => v.toFixed(0)).join(', ')}]`);
console.log(`probes on:  median ${median(on).toFixed(0)} req/s  [${on.map((v) => v.toFixed(0)).join(', ')}]`);
console.log(`throughput with probes: ${(ratio * 100).toFixed(1)} % of probes off (target >= 97 %)`);
console.log('cost per hook hit (run_time_ns / run_cnt, target <= 250 ns):');
let totalNs = 0n;
let totalCnt = 0n;
for (const [name, { ns, cnt }] of perProgram) {
  totalNs += ns;
  totalCnt += cnt;
  const per = cnt ? Number(ns) / Number(cnt) : 0;
  console.log(`  ${name.padEnd(18)} ${per.toFixed(0).padStart(5)} ns  (${cnt} hits)`);
}
if (totalCnt) console.log(`  ${'all programs'.padEnd(18)} ${(Number(totalNs) / Number(totalCnt)).toFixed(0).padStart(5)} ns`);

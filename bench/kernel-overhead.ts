/**
 * What the kernel probes cost a saturated service. The fastify hello target
 * is driven by wrk, alternating runs with the probes off, on (attached to
 * the target's pid, aggregating in the kernel, no raw events), and on but
 * observing only this idle script: what the packets of every process outside
 * the filter pay, here wrk's and the target's alike. Medians of the
 * interleaved runs give the throughput ratios. One more run with BPF run-time
 * statistics on (they cost a clock read per hit, so never during the ratio
 * runs) gives each program's cost per hit: run_time_ns / run_cnt. Busy CPU
 * time per request (all CPUs, from /proc/stat) is printed too: it is steadier
 * than throughput at saturation.
 *
 *   node bench/kernel-overhead.ts [--rounds 8] [--seconds 3] [--connections 32]
 */
import { parseArgs } from 'node:util';
import { loadNative } from '../src/kernel/addon.ts';
import { KernelSession } from '../src/kernel/session.ts';
import { startTarget } from './lib/target.ts';
import { median, wrk } from './lib/wrk.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
  },
});
const rounds = Number(values.rounds);
// wrk on CPU 0, the target on CPU 1: each saturates its own core.
const load = { seconds: Number(values.seconds), connections: Number(values.connections), cpu: 0 };

const { child, port } = await startTarget('hello-server.ts', { cpu: 1 });
const url = `http://127.0.0.1:${port}/`;
const native = loadNative();
const off: number[] = [];
const on: number[] = [];
const idle: number[] = [];
const cpuOff: number[] = [];
const cpuOn: number[] = [];
const cpuIdle: number[] = [];
const perProgram = new Map<string, { ns: bigint; cnt: bigint }>();

/** One wrk run with the probes observing `pids` (null: probes off), its figures into `rps` and `cpu`. */
async function measure(pids: number[] | null, rps: number[], cpu: number[]): Promise<void> {
  const session = pids ? KernelSession.open({ filter: { kind: 'pids', pids } }) : null;
  try {
    const r = await wrk(url, load);
    rps.push(r.rps);
    cpu.push(r.cpuNsPerRequest);
  } finally {
    session?.close();
  }
}

try {
  await wrk(url, { ...load, seconds: 2 }); // warm-up: JIT and connection setup
  for (let i = 0; i < rounds; i++) {
    await measure(null, off, cpuOff);
    await measure([child.pid!], on, cpuOn);
    await measure([process.pid], idle, cpuIdle);
    process.stderr.write(
      `round ${i + 1}/${rounds}: off ${off.at(-1)!.toFixed(0)}, on ${on.at(-1)!.toFixed(0)}, observing nothing ${idle.at(-1)!.toFixed(0)} req/s\n`,
    );
  }
  const session = KernelSession.open({ filter: { kind: 'pids', pids: [child.pid!] } });
  const statsFd = native.enableStats();
  try {
    await wrk(url, load);
    for (const p of session.programStats()) perProgram.set(p.name, { ns: p.runTimeNs, cnt: p.runCnt });
  } finally {
    native.closeFd(statsFd);
    session.close();
  }
} finally {
  child.kill();
}

const ratio = median(on) / median(off);
console.log(`fastify hello (CPU 1), wrk -t1 -c${load.connections} (CPU 0), ${rounds} interleaved rounds of ${load.seconds}s`);
console.log(`probes off: median ${median(off).toFixed(0)} req/s  [${off.map((v) => v.toFixed(0)).join(', ')}]`);
console.log(`probes on:  median ${median(on).toFixed(0)} req/s  [${on.map((v) => v.toFixed(0)).join(', ')}]`);
console.log(`probes observing nothing: median ${median(idle).toFixed(0)} req/s  [${idle.map((v) => v.toFixed(0)).join(', ')}]`);
console.log(`throughput with probes: ${(ratio * 100).toFixed(1)} % of probes off (target >= 97 %)`);
console.log(`throughput with probes observing nothing: ${((median(idle) / median(off)) * 100).toFixed(1)} % of probes off`);
console.log(
  `machine CPU per request: off ${(median(cpuOff) / 1000).toFixed(2)} us, on ${(median(cpuOn) / 1000).toFixed(2)} us ` +
    `(+${(median(cpuOn) - median(cpuOff)).toFixed(0)} ns per request, medians), observing nothing ${(median(cpuIdle) / 1000).toFixed(2)} us ` +
    `(+${(median(cpuIdle) - median(cpuOff)).toFixed(0)} ns)`,
);
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

/**
 * What profiling costs a saturated service: the fastify hello target under
 * the register entry with the profiler at its default rate (100 Hz wall and
 * CPU time, samples labelled by request, heap sampling on), against the same
 * entry without profiling; a fresh target each run, runs interleaved. Kernel
 * stages and export are off in both, so the ratio is the profiler's alone.
 * Each target is warmed up first: while V8 is still compiling the server's
 * code, the profiler records every compiled function, which costs more for
 * a few seconds (the warm-up's figures are printed apart).
 *
 *   node bench/profile-overhead.ts [--rounds 6] [--seconds 4] [--warmup 3]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { processCpuNs } from './lib/cpu.ts';
import { rotated } from './lib/rounds.ts';
import { withFreshTarget } from './lib/target.ts';
import { median, wrk } from './lib/wrk.ts';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '6' }, seconds: { type: 'string', default: '4' }, warmup: { type: 'string', default: '3' } },
});
const rounds = Number(values.rounds);
const load = { seconds: Number(values.seconds), connections: 32, cpu: 0 };
const warmup = { ...load, seconds: Number(values.warmup) };
const register = new URL('../src/trace/register.ts', import.meta.url).href;
const base = { WIREFLAME_KERNEL: 'off' };

const VARIANTS = {
  traced: { nodeArgs: ['--import', register], env: base },
  profiled: { nodeArgs: ['--import', register], env: { ...base, WIREFLAME_PROFILE_DIR: mkdtempSync(join(tmpdir(), 'wf-bench-profile-')) } },
};
type Variant = keyof typeof VARIANTS;
const rps: Record<Variant, number[]> = { traced: [], profiled: [] };
const warm: Record<Variant, number[]> = { traced: [], profiled: [] };
const cpu: Record<Variant, number[]> = { traced: [], profiled: [] };

for (let i = 0; i < rounds; i++) {
  for (const v of rotated(Object.keys(VARIANTS) as Variant[], i)) {
    const r = await withFreshTarget(
      'hello-server.ts',
      VARIANTS[v],
      async (url) => warm[v].push((await wrk(url, warmup)).rps),
      async (url, pid) => {
        const before = processCpuNs(pid);
        const run = await wrk(url, load);
        return { rps: run.rps, cpuNs: (processCpuNs(pid) - before) / (run.rps * load.seconds) };
      },
    );
    rps[v].push(r.rps);
    cpu[v].push(r.cpuNs);
  }
  process.stderr.write(`round ${i + 1}/${rounds}: traced ${rps.traced.at(-1)!.toFixed(0)}, profiled ${rps.profiled.at(-1)!.toFixed(0)} req/s\n`);
}
const ratio = median(rps.profiled) / median(rps.traced);
console.log(`fastify hello (CPU 1), wrk -t1 -c${load.connections} (CPU 0), ${rounds} interleaved rounds of ${load.seconds}s after ${warmup.seconds}s of warm-up`);
console.log(`during the warm-up:      profiling costs ${((1 - median(warm.profiled) / median(warm.traced)) * 100).toFixed(1)} % (${median(warm.profiled).toFixed(0)} against ${median(warm.traced).toFixed(0)} req/s)`);
console.log(`register, no profiler:   median ${median(rps.traced).toFixed(0)} req/s  [${rps.traced.map((v) => v.toFixed(0)).join(', ')}]`);
console.log(`register, profiler on:   median ${median(rps.profiled).toFixed(0)} req/s  [${rps.profiled.map((v) => v.toFixed(0)).join(', ')}]`);
console.log(`profiling costs ${((1 - ratio) * 100).toFixed(1)} % of saturated throughput (target <= 3 %)`);
const paired = rps.profiled.map((p, i) => 1 - p / rps.traced[i]!);
console.log(`round by round: median ${(median(paired) * 100).toFixed(1)} %  [${paired.map((c) => (c * 100).toFixed(1)).join(', ')}]`);
// Each fresh target's code comes out of the JIT a little different, so single runs differ by several percent.
console.log(
  `target CPU per request: ${median(cpu.traced).toFixed(0)} ns without, ${median(cpu.profiled).toFixed(0)} ns with the profiler (+${((median(cpu.profiled) / median(cpu.traced) - 1) * 100).toFixed(1)} %)`,
);

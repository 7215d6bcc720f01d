/**
 * What profiling costs a saturated service: the fastify hello target under
 * the register entry with the profiler on (wall and CPU time, samples
 * labelled by request, heap sampling on), against the same entry without
 * profiling; a fresh target each run, runs interleaved. Kernel stages and
 * export are off in all of them, so the ratio is the profiler's alone.
 * `--rates` lists the sampling rates to measure (Hz; the default rate alone
 * unless told): part of the cost comes with each sample, part with each
 * request, and several rates in one run tell the two apart.
 * Each target is warmed up first: while V8 is still compiling the server's
 * code, the profiler records every compiled function, which costs more for
 * a few seconds (the warm-up's figures are printed apart). A run ends before
 * the profiler's first collection (10 s in), whose pause is amortized over
 * ten seconds in a real run. The cost's 95 % interval, from the rounds'
 * paired figures, says whether the target is met beyond the machine's noise.
 *
 *   node bench/profile-overhead.ts [--rounds 6] [--seconds 4] [--warmup 3] [--rates 49,99]
 */
import { parseArgs } from 'node:util';
import { DEFAULT_PROFILE_HZ } from '../src/trace/config.ts';
import { processCpuNs, reportStealAtExit } from './lib/cpu.ts';
import { intervalText } from './lib/median-interval.ts';
import { rotated } from './lib/rounds.ts';
import { withFreshTarget } from './lib/target.ts';
import { median, wrk } from './lib/wrk.ts';
import { scratchDir } from '../src/util/scratch-dir.ts';

reportStealAtExit();

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '6' },
    seconds: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '3' },
    rates: { type: 'string', default: String(DEFAULT_PROFILE_HZ) },
  },
});
const rounds = Number(values.rounds);
const rates = values.rates.split(',').map(Number);
if (rates.some((hz) => !(hz > 0))) throw new Error(`--rates: positive numbers of Hz, comma-separated, got "${values.rates}"`);
const load = { seconds: Number(values.seconds), connections: 32, cpu: 0 };
const warmup = { ...load, seconds: Number(values.warmup) };
if (warmup.seconds + load.seconds >= 9) throw new Error('--warmup and --seconds: together under 9 s, before the profiler first collects');
const register = new URL('../src/trace/register.ts', import.meta.url).href;
const base = { WIREFLAME_KERNEL: 'off' };

const BASELINE = 'no profiler';
const variants = new Map<string, { nodeArgs: string[]; env: Record<string, string> }>([[BASELINE, { nodeArgs: ['--import', register], env: base }]]);
for (const hz of rates) {
  const env = { ...base, WIREFLAME_PROFILE_DIR: scratchDir('wf-bench-profile-'), WIREFLAME_PROFILE_INTERVAL_US: String(Math.round(1e6 / hz)) };
  variants.set(`${hz} Hz`, { nodeArgs: ['--import', register], env });
}
const names = [...variants.keys()];
const rps = new Map(names.map((n) => [n, [] as number[]]));
const warm = new Map(names.map((n) => [n, [] as number[]]));
const cpu = new Map(names.map((n) => [n, [] as number[]]));

for (let i = 0; i < rounds; i++) {
  for (const name of rotated(names, i)) {
    const r = await withFreshTarget(
      'hello-server.ts',
      variants.get(name)!,
      async (url) => warm.get(name)!.push((await wrk(url, warmup)).rps),
      async (url, pid) => {
        const before = processCpuNs(pid);
        const run = await wrk(url, load);
        return { rps: run.rps, cpuNs: (processCpuNs(pid) - before) / (run.rps * load.seconds) };
      },
    );
    rps.get(name)!.push(r.rps);
    cpu.get(name)!.push(r.cpuNs);
  }
  process.stderr.write(`round ${i + 1}/${rounds}: ${names.map((n) => `${n} ${rps.get(n)!.at(-1)!.toFixed(0)}`).join(', ')} req/s\n`);
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const baseRps = rps.get(BASELINE)!;
const baseCpu = median(cpu.get(BASELINE)!);
console.log(`fastify hello (CPU 1), wrk -t1 -c${load.connections} (CPU 0), ${rounds} interleaved rounds of ${load.seconds}s after ${warmup.seconds}s of warm-up`);
console.log(`${BASELINE}: median ${median(baseRps).toFixed(0)} req/s  [${baseRps.map((v) => v.toFixed(0)).join(', ')}], ${baseCpu.toFixed(0)} ns of target CPU per request`);
for (const name of names.slice(1)) {
  const runs = rps.get(name)!;
  // Each fresh target's code comes out of the JIT a little different, so single runs differ by several percent.
  const paired = runs.map((p, i) => 1 - p / baseRps[i]!);
  const warmCost = 1 - median(warm.get(name)!) / median(warm.get(BASELINE)!);
  console.log(`profiler at ${name}${name === `${DEFAULT_PROFILE_HZ} Hz` ? ' (the default)' : ''}:`);
  console.log(`  costs ${pct(1 - median(runs) / median(baseRps))} of saturated throughput (target <= 3 % at the default rate): median ${median(runs).toFixed(0)} req/s  [${runs.map((v) => v.toFixed(0)).join(', ')}]`);
  console.log(`  round by round: median ${pct(median(paired))}, ${intervalText(paired, pct)}  [${paired.map((c) => (c * 100).toFixed(1)).join(', ')}]`);
  console.log(`  target CPU per request +${pct(median(cpu.get(name)!) / baseCpu - 1)}; during the warm-up: ${pct(warmCost)} of throughput`);
}

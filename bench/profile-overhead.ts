/**
 * What profiling costs a saturated service: the fastify hello target under
 * the register entry with the profiler at its default rate (100 Hz wall and
 * CPU time, samples labelled by request, heap sampling on), against the same
 * entry without profiling; a fresh target each run, runs interleaved. Kernel
 * stages and export are off in both, so the ratio is the profiler's alone.
 *
 *   node bench/profile-overhead.ts [--rounds 6] [--seconds 3]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { withFreshTarget } from './lib/target.ts';
import { median, wrk } from './lib/wrk.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '6' }, seconds: { type: 'string', default: '3' } } });
const rounds = Number(values.rounds);
const load = { seconds: Number(values.seconds), connections: 32, cpu: 0 };
const register = new URL('../src/trace/register.ts', import.meta.url).href;
const base = { WIREFLAME_KERNEL: 'off' };

const VARIANTS = {
  traced: { nodeArgs: ['--import', register], env: base },
  profiled: { nodeArgs: ['--import', register], env: { ...base, WIREFLAME_PROFILE_DIR: mkdtempSync(join(tmpdir(), 'wf-bench-profile-')) } },
};
type Variant = keyof typeof VARIANTS;
const rps: Record<Variant, number[]> = { traced: [], profiled: [] };

for (let i = 0; i < rounds; i++) {
  for (const v of Object.keys(VARIANTS) as Variant[]) {
    const r = await withFreshTarget('hello-server.ts', VARIANTS[v], (url) => wrk(url, { ...load, seconds: 1 }), (url) => wrk(url, load));
    rps[v].push(r.rps);
  }
  process.stderr.write(`round ${i + 1}/${rounds}: traced ${rps.traced.at(-1)!.toFixed(0)}, profiled ${rps.profiled.at(-1)!.toFixed(0)} req/s\n`);
}
const ratio = median(rps.profiled) / median(rps.traced);
console.log(`fastify hello (CPU 1), wrk -t1 -c${load.connections} (CPU 0), ${rounds} interleaved rounds of ${load.seconds}s`);
console.log(`register, no profiler:   median ${median(rps.traced).toFixed(0)} req/s  [${rps.traced.map((v) => v.toFixed(0)).join(', ')}]`);
console.log(`register, profiler on:   median ${median(rps.profiled).toFixed(0)} req/s  [${rps.profiled.map((v) => v.toFixed(0)).join(', ')}]`);
console.log(`profiling costs ${((1 - ratio) * 100).toFixed(1)} % of saturated throughput (target <= 3 %)`);

/**
 * What tracing costs a service: the fastify hello target with no agent,
 * against the same target under the register entry with its own probes
 * (100 % of requests attributed, sampled + slow-tail export to a local OTLP
 * collector on the load generator's CPU, which acknowledges without
 * decoding), and under the register entry with kernel stages off (the
 * JavaScript share of the cost). Each run starts a fresh target process, so
 * no probe or state stays behind between variants; runs are interleaved.
 *
 * 1. Saturated throughput: wrk on CPU 0, the target on CPU 1.
 * 2. p99 latency at a fixed 2k req/s: `wireflame run --scenario http-get
 *    --target` (open loop, the GET / that wrk asks for too),
 *    and the target's own CPU time per request there, read from /proc: below
 *    saturation it is free of the feedback that makes saturated figures
 *    swing on a VM (a slower server lets the load generator sleep, and
 *    waking it costs the server more).
 *
 * The traced throughput's and p99's 95 % intervals, from each round's ratio
 * to no agent, say whether the targets are met beyond the machine's noise.
 * `--variants` adds `context-floor` (fixtures/context-floor.ts): an async
 * context per request and the response's end observed, nothing recorded,
 * which any tracer of this kind pays before its own work.
 *
 *   node bench/trace-overhead.ts [--pairs 6] [--seconds 3] [--rate-rounds 6] [--rate-seconds 8]
 *     [--variants none,traced,js-only,context-floor]
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { Latency } from '../src/load/latency.ts';
import type { RunResult } from '../src/report/result-schema.ts';
import { scratchDir } from '../src/util/scratch-dir.ts';
import { startNullCollector } from './lib/collector.ts';
import { processCpuNs, reportStealAtExit } from './lib/cpu.ts';
import { intervalText } from './lib/median-interval.ts';
import { rotated } from './lib/rounds.ts';
import { withFreshTarget } from './lib/target.ts';
import { chosenVariants } from './lib/variants.ts';
import { median, wrk } from './lib/wrk.ts';

reportStealAtExit();

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    pairs: { type: 'string', default: '6' },
    seconds: { type: 'string', default: '3' },
    // A p99 over 8 s at 2k req/s moves by a millisecond from run to run on these VMs: three rounds could not tell +10 % from noise.
    'rate-rounds': { type: 'string', default: '6' },
    'rate-seconds': { type: 'string', default: '8' },
    variants: { type: 'string', default: 'none,traced,js-only' },
  },
});
const pairs = Number(values.pairs);
const load = { seconds: Number(values.seconds), connections: 32, cpu: 0 };
const cli = fileURLToPath(new URL('../bin/wireflame.js', import.meta.url));
const register = new URL('../src/trace/register.ts', import.meta.url).href;
// A collector that does not decode, beside the load generator: the target's CPU is not shared with it.
const collector = await startNullCollector(0);

const contextFloor = new URL('./fixtures/context-floor.ts', import.meta.url).href;
const KNOWN = ['none', 'traced', 'js-only', 'context-floor'] as const;
type Variant = (typeof KNOWN)[number];
const VARIANTS = chosenVariants(values.variants, KNOWN);
if (VARIANTS[0] !== 'none' || !VARIANTS.includes('traced')) throw new Error('--variants: none first, and traced among them');
const options: Record<Variant, { nodeArgs?: string[]; env?: NodeJS.ProcessEnv }> = {
  none: {},
  traced: { nodeArgs: ['--import', register], env: { WIREFLAME_KERNEL: 'self', WIREFLAME_OTLP_ENDPOINT: collector.endpoint } },
  'js-only': { nodeArgs: ['--import', register], env: { WIREFLAME_KERNEL: 'off', WIREFLAME_OTLP_ENDPOINT: collector.endpoint } },
  'context-floor': { nodeArgs: ['--import', contextFloor] },
};

const withTarget = <T>(variant: Variant, fn: (url: string, pid: number) => Promise<T>): Promise<T> =>
  withFreshTarget('hello-server.ts', options[variant], (url) => wrk(url, { ...load, seconds: 1 }), fn);

const RATE = 2000;
const WARMUP_S = 1;

async function atRate(url: string, pid: number): Promise<{ p99: number; latency: Latency; sendLagP99: number; cpuUs: number }> {
  const cpuBefore = processCpuNs(pid);
  const { stdout } = await run(
    'taskset',
    ['-c', '0', process.execPath, cli, 'run', '--scenario', 'http-get', '--target', url, '--rate', String(RATE), '--duration', `${values['rate-seconds']}s`, '--warmup', `${WARMUP_S}s`, '--json', '--out', scratchDir('wf-bench-')],
    { maxBuffer: 16 * 1024 * 1024, env: { ...process.env, WIREFLAME_CLOUD: 'off' } },
  );
  const cpuNs = processCpuNs(pid) - cpuBefore;
  const result = JSON.parse(stdout) as RunResult;
  // Errors answer by another path than the one measured at saturation.
  if (result.errors_total > 0) throw new Error(`the run at ${RATE} req/s had errors: ${JSON.stringify(result.errors_by_kind)}`);
  return {
    p99: result.latency_p99_ms,
    latency: Latency.decode(result.latency_histogram),
    sendLagP99: result.generator.send_lag_p99_ms,
    // The CPU spans the warm-up too, whose requests the result does not count.
    cpuUs: cpuNs / (result.requests_total + RATE * WARMUP_S) / 1000,
  };
}

const each = <T>(make: () => T) => Object.fromEntries(KNOWN.map((v) => [v, make()])) as Record<Variant, T>;
const rps = each((): number[] => []);
const cpu = each((): number[] => []);
const p99 = each((): number[] => []);
const pooled = each(() => new Latency());
const sendLag: number[] = [];
const cpuAtRate = each((): number[] => []);
try {
  for (let i = 0; i < pairs; i++) {
    for (const v of rotated(VARIANTS, i)) {
      const r = await withTarget(v, (url) => wrk(url, load));
      rps[v].push(r.rps);
      cpu[v].push(r.cpuNsPerRequest);
    }
    process.stderr.write(`round ${i + 1}/${pairs}: ${VARIANTS.map((v) => `${v} ${rps[v].at(-1)!.toFixed(0)}`).join(', ')} req/s\n`);
  }
  for (let i = 0; i < Number(values['rate-rounds']); i++) {
    for (const v of rotated(VARIANTS, i)) {
      const r = await withTarget(v, atRate);
      p99[v].push(r.p99);
      pooled[v].add(r.latency);
      sendLag.push(r.sendLagP99);
      cpuAtRate[v].push(r.cpuUs);
    }
    process.stderr.write(`rate round ${i + 1}: ${VARIANTS.map((v) => `${v} p99 ${p99[v].at(-1)} ms`).join(', ')}\n`);
  }
} catch (err) {
  await collector.stop();
  throw err;
}
const taken = await collector.stop();

const pct = (v: Variant) => ((median(rps[v]) / median(rps.none)) * 100).toFixed(1);
console.log(`fastify hello (CPU 1), wrk -t1 -c${load.connections} (CPU 0), ${pairs} interleaved rounds of ${load.seconds}s, a fresh target each run`);
for (const v of VARIANTS) {
  console.log(
    `${v.padEnd(8)} median ${median(rps[v]).toFixed(0).padStart(6)} req/s (${pct(v)} % of none), CPU ${(median(cpu[v]) / 1000).toFixed(2)} us/request  [${rps[v].map((x) => x.toFixed(0)).join(', ')}]`,
  );
}
const paired = (v: Variant) => rps[v].map((r, i) => r / rps.none[i]!);
console.log(
  `traced throughput: ${pct('traced')} % of no agent (target >= 95 %); round by round ${(median(paired('traced')) * 100).toFixed(1)} %, ${intervalText(paired('traced'), (x) => `${(x * 100).toFixed(1)} %`)}`,
);
console.log(`p99 at 2k req/s (open loop, ${values['rate-seconds']}s runs): ${VARIANTS.map((v) => `${v} ${median(p99[v]).toFixed(2)} ms [${p99[v].join(', ')}]`).join('; ')}`);
const overNone = p99.traced.map((t, i) => t / p99.none[i]! - 1);
const signedPct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
console.log(
  `traced p99: ${signedPct(median(p99.traced) / median(p99.none) - 1)} over no agent (medians of the runs' p99); ` +
    `round by round ${signedPct(median(overNone))}, ${intervalText(overNone, signedPct)}`,
);
const pooledP99 = (v: Variant) => pooled[v].percentileMs(99);
console.log(
  `p99 of all runs' requests together: ${VARIANTS.map((v) => `${v} ${pooledP99(v).toFixed(2)} ms`).join('; ')}; ` +
    `traced ${((pooledP99('traced') / pooledP99('none') - 1) * 100).toFixed(1)} % over no agent (target <= +10 %)`,
);
console.log(`the load generator's own send lag, p99: median ${median(sendLag).toFixed(2)} ms over all runs (part of every latency above)`);
console.log(
  `target CPU per request at 2k req/s (from /proc, includes its share of kernel work): ${VARIANTS.map((v) => `${v} ${median(cpuAtRate[v]).toFixed(1)} us`).join('; ')}`,
);
console.log(`the collector took ${taken.exports} exports, ${(taken.bytes / 1e6).toFixed(1)} MB`);

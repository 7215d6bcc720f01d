/**
 * What each variant costs a request in instructions, which do not swing with
 * the machine: the fastify hello target run under valgrind's callgrind, its
 * main thread's instructions counted over windows of a fixed number of
 * requests once the JIT has settled. On a shared VM throughput moves by 20 %
 * from one round to the next, and a change worth 2 % is lost in it; within
 * one process the windows' counts repeat to half a percent.
 *
 * Across processes they do not quite: a process settles on one of a few
 * levels (the plain hello target here on 51k or 55k, nothing else changed),
 * so each variant runs in several processes, whose figures are all printed;
 * compare like levels. V8 compiles on the main thread (compilation is then
 * counted only in the warm-up) and collects garbage there too (so
 * collection is counted with the requests whose allocations caused it).
 * `--predictable` would make the levels repeat exactly, but it changes what
 * is measured: the register entry costs eight times as much under it.
 *
 * What it does not see: the kernel (the BPF programs and system calls run
 * there) and cache misses. The other threads are counted apart; their work
 * is mostly driven by the clock, which valgrind stretches: a second holds
 * about fifty times fewer requests. Span export is left out
 * (bench/export-cost.ts): traced here is every request attributed, its
 * kernel stages read, nothing exported.
 *
 * The profiler's cost is split in two: what it costs each request (its
 * labels, heap sampling, the routes' totals) and what each sample costs. It
 * runs at two rates, `profiled-rare` (1 Hz) and `profiled` (the default),
 * and the windows' seconds say how many samples a request drew at each: the
 * two counts solve for both parts, on the main thread and on V8's sampler
 * thread, and a native rate turns the second into a cost a request
 * (bench/profile-overhead.ts measures the same in throughput). A rarer rate
 * is no cleaner: at a sample a minute every other window cost 300k
 * instructions a request or more (somewhere in the profiler at that rate;
 * not traced further). A collection (every 10 s) lands in
 * some of the default rate's windows and not others, so its per-sample
 * figure moves with the median window: read its windows too.
 *
 *   node bench/instructions.ts [--variants none,context-floor,js-only,traced,profiled-rare,profiled] [--processes 3] [--window 2000] [--windows 5]
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { DEFAULT_PROFILE_HZ } from '../src/trace/config.ts';
import { scratchDir } from '../src/util/scratch-dir.ts';
import { rotated } from './lib/rounds.ts';
import { chosenVariants } from './lib/variants.ts';
import { median } from './lib/wrk.ts';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    variants: { type: 'string', default: 'none,context-floor,js-only,traced' },
    window: { type: 'string', default: '2000' },
    windows: { type: 'string', default: '5' },
    processes: { type: 'string', default: '3' },
  },
});
const windowSize = Number(values.window);
const windows = Number(values.windows);
const processes = Number(values.processes);
await run('valgrind', ['--version']).catch(() => {
  throw new Error('valgrind is not installed (Debian: valgrind; `npm run setup` installs it)');
});

const register = new URL('../src/trace/register.ts', import.meta.url).href;
const contextFloor = new URL('./fixtures/context-floor.ts', import.meta.url).href;
/** The profiler's runs write their profiles here, at exit: they are killed first, so it stays empty. */
const profileDir = scratchDir('wf-instructions-profile-');
const profiledAt = (hz: number) => ({
  nodeArgs: ['--import', register],
  env: { WIREFLAME_KERNEL: 'off', WIREFLAME_PROFILE_DIR: profileDir, WIREFLAME_PROFILE_INTERVAL_US: String(Math.round(1e6 / hz)) },
});
/** A sample in about a thousand requests under valgrind. */
const RARE_HZ = 1;
const VARIANTS = {
  none: { nodeArgs: [], env: {} },
  'context-floor': { nodeArgs: ['--import', contextFloor], env: {} },
  'js-only': { nodeArgs: ['--import', register], env: { WIREFLAME_KERNEL: 'off' } },
  traced: { nodeArgs: ['--import', register], env: { WIREFLAME_KERNEL: 'self' } },
  'profiled-rare': profiledAt(RARE_HZ),
  profiled: profiledAt(DEFAULT_PROFILE_HZ),
} satisfies Record<string, { nodeArgs: string[]; env: NodeJS.ProcessEnv }>;
type Variant = keyof typeof VARIANTS;
const names = chosenVariants(values.variants, Object.keys(VARIANTS) as Variant[]);

const CONNECTIONS = 32;
/**
 * Warm-up ends when the last few windows' counts lie within this of each
 * other: V8 compiles the hot functions again for a while, and two windows
 * alike can still be followed by a faster one.
 */
const SETTLED = 0.01;
const SETTLED_WINDOWS = 3;
/**
 * Nor does warm-up end before this many windows: the traced target held
 * 58.3k for three windows, then settled at 56.3k after its 16th; under
 * callgrind every function's counts take that long to reach V8's
 * thresholds for its last compilation.
 */
const MIN_WARMUP_WINDOWS = 20;
const MAX_WARMUP_WINDOWS = 40;

/** `n` GETs over the agent's keep-alive connections, as many at once as it has connections. */
async function requests(url: string, agent: http.Agent, n: number): Promise<void> {
  let sent = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      http
        .get(url, { agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    });
  const worker = async () => {
    while (sent < n) {
      sent++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
}

/** The target under callgrind, counting from the start; each dump() returns its threads' instructions since the last. */
class CountedTarget {
  private dumps = 0;
  readonly child: ChildProcess;
  readonly url: string;
  private readonly dir: string;

  private constructor(child: ChildProcess, url: string, dir: string) {
    this.child = child;
    this.url = url;
    this.dir = dir;
  }

  static async start(variant: Variant): Promise<CountedTarget> {
    const dir = scratchDir('wf-instructions-');
    const { nodeArgs, env } = VARIANTS[variant];
    const fixture = fileURLToPath(new URL('./fixtures/hello-server.ts', import.meta.url));
    const args = [
      '-c', '1', 'valgrind', '--tool=callgrind', '--separate-threads=yes', '--cache-sim=no',
      // V8 writes its machine code into memory valgrind must watch for changes.
      '--smc-check=all-non-file', `--callgrind-out-file=${join(dir, 'cg')}`,
      process.execPath, '--single-threaded-gc', '--no-concurrent-recompilation', '--no-concurrent-sparkplug', ...nodeArgs, fixture,
    ];
    const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let log = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (log = (log + s).slice(-4000)));
    const port = await Promise.race([
      once(child.stdout!.setEncoding('utf8'), 'data').then(([line]) => Number(String(line).trim())),
      once(child, 'exit').then(() => {
        throw new Error(`${variant}: the target under valgrind exited before listening:\n${log}`);
      }),
    ]);
    return new CountedTarget(child, `http://127.0.0.1:${port}/`, dir);
  }

  async zero(): Promise<void> {
    await run('callgrind_control', ['--zero', String(this.child.pid)]);
  }

  /** The main thread's instructions since the last zero or dump, and the other threads' together. */
  async dump(): Promise<{ main: number; others: number }> {
    await run('callgrind_control', ['--dump', String(this.child.pid)]);
    this.dumps++;
    // One file a thread, cg.<dump>-<thread>; thread 1 is the main thread.
    const prefix = `cg.${this.dumps}-`;
    const files = readdirSync(this.dir).filter((f) => f.startsWith(prefix));
    if (!files.includes(`${prefix}01`)) throw new Error(`callgrind wrote no dump ${this.dumps} in ${this.dir}: ${readdirSync(this.dir).join(', ')}`);
    const totalOf = (file: string) => {
      const totals = /^totals:\s+(\d+)/m.exec(readFileSync(join(this.dir, file), 'utf8'));
      if (!totals) throw new Error(`no totals in ${file}`);
      return Number(totals[1]);
    };
    const others = files.filter((f) => f !== `${prefix}01`).reduce((sum, f) => sum + totalOf(f), 0);
    return { main: totalOf(`${prefix}01`), others };
  }

  stop(): void {
    this.child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The main thread's instructions a request, per window, once the counts
 * settled (the warm-up's windows apart); the other threads' per measured
 * window; and the measured windows' seconds.
 */
async function measure(variant: Variant): Promise<{ warmup: number[]; windows: number[]; others: number[]; seconds: number[] }> {
  const target = await CountedTarget.start(variant);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const seconds: number[] = [];
  const others: number[] = [];
  const window = async () => {
    await target.zero();
    const start = performance.now();
    await requests(target.url, agent, windowSize);
    seconds.push((performance.now() - start) / 1000);
    const counts = await target.dump();
    others.push(counts.others / windowSize);
    return counts.main / windowSize;
  };
  try {
    const warmup: number[] = [];
    while (warmup.length < MAX_WARMUP_WINDOWS) {
      warmup.push(await window());
      const last = warmup.slice(-SETTLED_WINDOWS);
      const settled = Math.max(...last) - Math.min(...last) <= SETTLED * Math.min(...last);
      if (warmup.length >= MIN_WARMUP_WINDOWS && settled) break;
    }
    seconds.length = 0;
    others.length = 0;
    const measured: number[] = [];
    for (let i = 0; i < windows; i++) measured.push(await window());
    return { warmup, windows: measured, others, seconds };
  } finally {
    agent.destroy();
    target.stop();
  }
}

const k = (n: number) => `${(n / 1000).toFixed(1)}k`;
const perProcess = new Map<Variant, number[]>(names.map((v) => [v, []]));
/** The other threads' instructions a request, each process's median. */
const othersPerProcess = new Map<Variant, number[]>(names.map((v) => [v, []]));
/** Seconds a request took under valgrind, every measured window's. */
const secondsEach = new Map<Variant, number[]>(names.map((v) => [v, []]));
for (let round = 0; round < processes; round++) {
  for (const variant of rotated(names, round)) {
    const { warmup, windows: counts, others, seconds } = await measure(variant);
    perProcess.get(variant)!.push(median(counts));
    othersPerProcess.get(variant)!.push(median(others));
    secondsEach.get(variant)!.push(...seconds.map((s) => s / windowSize));
    process.stderr.write(
      `${variant}: warm-up ${warmup.map(k).join(' ')}; windows ${counts.map(k).join(' ')} instructions a request (other threads ${others.map(k).join(' ')}), ${seconds.map((s) => (windowSize / s).toFixed(0)).join(' ')} requests/s\n`,
    );
  }
}
rmSync(profileDir, { recursive: true, force: true });
const base = median(perProcess.get(names[0]!)!);
console.log(`main-thread instructions a request (median of ${windows} windows of ${windowSize} requests, in each of ${processes} processes), fastify hello under callgrind`);
for (const [variant, each] of perProcess) {
  const at = median(each);
  const added = variant === names[0] ? '' : `   ${at >= base ? '+' : '-'}${k(Math.abs(at - base))} over ${names[0]} (${(((at - base) / base) * 100).toFixed(1)} %)`;
  console.log(`  ${variant.padEnd(14)} ${k(at).padStart(7)}${added}${processes > 1 ? `   processes: ${each.map(k).join(' ')}` : ''}`);
}
console.log('other threads (clock-driven work is stretched fiftyfold under valgrind, so these are not native costs):');
for (const [variant, each] of othersPerProcess) console.log(`  ${variant.padEnd(14)} ${k(median(each)).padStart(7)}`);

const rare = perProcess.get('profiled-rare');
const sampled = perProcess.get('profiled');
if (rare && sampled) {
  // Under valgrind a request takes fifty times as long, and the profiler's clock lands that many more samples on it.
  const samplesAt = (variant: Variant, hz: number) => hz * median(secondsEach.get(variant)!);
  const [fewer, more] = [samplesAt('profiled-rare', RARE_HZ), samplesAt('profiled', DEFAULT_PROFILE_HZ)];
  // count = fixed + perSample x samples a request, at both rates; the other threads' work is all per sample.
  const perSample = (median(sampled) - median(rare)) / (more - fewer);
  const othersPerSample = (median(othersPerProcess.get('profiled')!) - median(othersPerProcess.get('profiled-rare')!)) / (more - fewer);
  const withoutSamples = median(rare) - perSample * fewer;
  const jsOnly = perProcess.get('js-only');
  const fixed = jsOnly ? withoutSamples - median(jsOnly) : null;
  console.log(
    `profiler: ${more.toFixed(3)} samples a request at ${DEFAULT_PROFILE_HZ} Hz and ${fewer.toFixed(4)} at ${RARE_HZ} Hz under valgrind; a sample costs ${k(perSample)} instructions on the main thread, ${k(othersPerSample)} on the others (V8's sampler)`,
  );
  for (const rps of [20_000, 60_000]) {
    const nativeEach = (n: number) => ((n * DEFAULT_PROFILE_HZ) / rps).toFixed(0);
    const each = fixed === null ? '' : `, plus ${k(fixed)} a request for labels, heap sampling and route totals (over js-only)`;
    console.log(
      `  natively at ${rps / 1000}k req/s: samples cost ${nativeEach(perSample)} main-thread instructions a request and ${nativeEach(othersPerSample)} on other threads${each}`,
    );
  }
}

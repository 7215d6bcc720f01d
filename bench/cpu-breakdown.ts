/**
 * Where a saturated target's CPU goes, per request, and what each variant
 * adds over the first: the fastify hello target on CPU 1 under wrk, CPU 1
 * sampled by `perf` on a timer (these VMs have no PMU), JIT frames named
 * through V8's perf map. The overhead benches say how much a variant costs;
 * this says where, in microseconds a request: the BPF programs, the rest of
 * the kernel, Wireflame's JavaScript, other JavaScript, V8. Whole-CPU totals
 * swing by 5 % from run to run like throughput does, but a category that
 * moves the same way in every round is real: read the rounds side by side.
 * Time with interrupts off shows up where they come back on
 * (_raw_spin_unlock_irqrestore): the sampling timer waits for it.
 *
 *   node bench/cpu-breakdown.ts [--variants none,js-only,traced,profiled] [--rounds 2] [--seconds 4] [--top 15]
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { scratchDir } from '../src/util/scratch-dir.ts';
import { withFreshTarget } from './lib/target.ts';
import { chosenVariants } from './lib/variants.ts';
import { wrk } from './lib/wrk.ts';
import { reportStealAtExit } from './lib/cpu.ts';

reportStealAtExit();

const run = promisify(execFile);
const HZ = 1999;
const register = new URL('../src/trace/register.ts', import.meta.url).href;
const SRC = new URL('../src/', import.meta.url).pathname;

/** The target as the overhead benches run it: no agent; the register entry without kernel stages, with its own probes, or profiling. */
const VARIANTS: Record<string, { register: boolean; env: Record<string, string>; profile?: true }> = {
  none: { register: false, env: {} },
  'js-only': { register: true, env: { WIREFLAME_KERNEL: 'off' } },
  traced: { register: true, env: { WIREFLAME_KERNEL: 'self' } },
  profiled: { register: true, env: { WIREFLAME_KERNEL: 'off' }, profile: true },
};

const { values } = parseArgs({
  options: {
    variants: { type: 'string', default: Object.keys(VARIANTS).join(',') },
    rounds: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '4' },
    top: { type: 'string', default: '15' },
  },
});
const names = chosenVariants(values.variants, Object.keys(VARIANTS));
const seconds = Number(values.seconds);
await run('perf', ['--version']).catch(() => {
  throw new Error('perf is not installed (Debian: linux-perf; `npm run setup` installs it)');
});

const CATEGORIES = ['BPF programs', 'kernel', 'Wireflame JS', 'other JS', 'V8 builtins', 'V8 runtime', 'other native'] as const;
type Category = (typeof CATEGORIES)[number];

function categoryOf(symbol: string): Category {
  if (symbol.includes('bpf_prog_')) return 'BPF programs';
  if (symbol.startsWith('[k]')) return 'kernel';
  if (symbol.includes(SRC)) return 'Wireflame JS';
  if (symbol.includes('JS:')) return 'other JS';
  if (symbol.includes('Builtins_')) return 'V8 builtins';
  if (symbol.includes('v8::')) return 'V8 runtime';
  return 'other native';
}

/** µs of CPU 1 a request, by symbol, from one perf capture. */
async function symbolsUs(data: string, requests: number): Promise<Map<string, number>> {
  const { stdout } = await run('perf', ['report', '-i', data, '--no-children', '--sort', 'sym', '-q', '-n', '-F', 'sample,sym'], {
    maxBuffer: 64 * 1024 * 1024,
  });
  const out = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    const m = /^\s*(\d+)\s+(.*\S)\s*$/.exec(line);
    if (!m) continue;
    const symbol = m[2]!.replace(/\+0x[0-9a-f]+/g, '');
    out.set(symbol, (out.get(symbol) ?? 0) + (Number(m[1]) / HZ / requests) * 1e6);
  }
  return out;
}

async function capture(variant: string, dir: string): Promise<Map<string, number>> {
  const { register: withRegister, env, profile } = VARIANTS[variant]!;
  // The perf map names JIT frames; V8's log, which comes with it, goes to the scratch directory.
  const nodeArgs = ['--perf-basic-prof', `--logfile=${join(dir, 'v8.log')}`, '--no-logfile-per-isolate', ...(withRegister ? ['--import', register] : [])];
  return withFreshTarget(
    'hello-server.ts',
    { nodeArgs, env: { ...env, ...(profile ? { WIREFLAME_PROFILE_DIR: mkdtempSync(join(dir, 'profile-')) } : {}) } },
    (url) => wrk(url, { seconds: 3, connections: 32, cpu: 0 }),
    async (url, pid) => {
      const data = join(dir, `${variant}.data`);
      const load = wrk(url, { seconds: seconds + 2, connections: 32, cpu: 0 });
      await new Promise((r) => setTimeout(r, 1000));
      await run('perf', ['record', '-F', String(HZ), '-C', '1', '-o', data, '--', 'sleep', String(seconds)]);
      const { rps } = await load;
      try {
        return await symbolsUs(data, rps * seconds);
      } finally {
        rmSync(`/tmp/perf-${pid}.map`, { force: true });
      }
    },
  );
}

const sum = (m: Map<string, number>, pick: (s: string) => boolean = () => true) =>
  [...m].reduce((t, [s, us]) => (pick(s) ? t + us : t), 0);
const dir = scratchDir('wf-cpu-breakdown-');
const rounds: Map<string, Map<string, number>>[] = [];
for (let i = 0; i < Number(values.rounds); i++) {
  const round = new Map<string, Map<string, number>>();
  for (const v of names) round.set(v, await capture(v, dir));
  rounds.push(round);
  process.stderr.write(`round ${i + 1}/${values.rounds} done\n`);
}

const base = names[0]!;
const fmt = (us: number) => `${us >= 0 ? '+' : ''}${us.toFixed(3)}`;
console.log(`fastify hello on CPU 1 under wrk, perf at ${HZ} Hz for ${seconds}s; µs of CPU 1 a request, each round side by side`);
for (const v of names) {
  console.log(`${v}: total ${rounds.map((r) => sum(r.get(v)!).toFixed(2)).join(' | ')}`);
  for (const c of CATEGORIES) {
    const per = rounds.map((r) => sum(r.get(v)!, (s) => categoryOf(s) === c));
    const over = v === base ? '' : `   over ${base}: ${rounds.map((r, i) => fmt(per[i]! - sum(r.get(base)!, (s) => categoryOf(s) === c))).join(' | ')}`;
    console.log(`  ${c.padEnd(14)} ${per.map((us) => us.toFixed(3)).join(' | ')}${over}`);
  }
  if (v === base) continue;
  // Symbols by their mean difference over the base across rounds.
  const delta = new Map<string, number>();
  const add = (m: Map<string, number>, sign: number) => {
    for (const [s, us] of m) delta.set(s, (delta.get(s) ?? 0) + (sign * us) / rounds.length);
  };
  for (const r of rounds) {
    add(r.get(v)!, 1);
    add(r.get(base)!, -1);
  }
  const top = [...delta].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top));
  console.log(`  most added over ${base} (mean of the rounds):`);
  for (const [s, us] of top) console.log(`    ${fmt(us)}  ${s.replace(`file://${SRC}`, 'src/').slice(0, 110)}`);
}

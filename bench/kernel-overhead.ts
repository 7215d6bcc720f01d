/**
 * What the kernel probes cost a saturated service. The fastify hello target
 * is driven by wrk, runs interleaved (the order turning round by round):
 * - probes off;
 * - on, attached to the target's pid, aggregating in the kernel, no raw
 *   events: the default send path (BPF timestamping here), and the
 *   tracepoint send path;
 * - on but observing only this idle script: what the packets of every
 *   process outside the filter pay, here wrk's and the target's alike;
 * - the floor of each send path: bpf/hook-floor.bpf.o, programs on the same
 *   hooks that return at once (timestamping: that stamp the target's sends
 *   and nothing more), what the kernel's own dispatch of the hooks costs
 *   before any program body.
 * Medians of the interleaved runs give the throughput ratios, and each
 * variant's ratio to probes off within the same round gives a 95 %
 * interval for its median: a 3-point target is met only when the interval
 * lies above it. `--variants` measures fewer of them against probes off, so
 * that rounds are shorter and the machine drifts less within one. Runs with
 * BPF run-time statistics on (they cost a clock read per hit, so never
 * during the ratio runs) give each program's cost per hit (run_time_ns /
 * run_cnt), and the programs' time per request, the probes' against the
 * floor's: what the program bodies cost, steady to a few percent where
 * throughput swings by several. Busy CPU time per request (all CPUs, from
 * /proc/stat) is printed too. Single runs on these VMs swing by 10 % or
 * more: read the medians of many rounds.
 *
 *   node bench/kernel-overhead.ts [--rounds 8] [--seconds 3] [--connections 32]
 *     [--variants on,on-tracepoints,nothing,floor,floor-tracepoints]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadNative, type NativeKernelObject } from '../src/kernel/addon.ts';
import { cgroup2Root } from '../src/kernel/environment.ts';
import { KernelSession } from '../src/kernel/session.ts';
import { intervalText } from './lib/median-interval.ts';
import { rotated } from './lib/rounds.ts';
import { startTarget } from './lib/target.ts';
import { chosenVariants } from './lib/variants.ts';
import { median, wrk } from './lib/wrk.ts';
import { reportStealAtExit } from './lib/cpu.ts';

reportStealAtExit();

const VARIANTS = ['on', 'on-tracepoints', 'nothing', 'floor', 'floor-tracepoints'] as const;
type VariantName = (typeof VARIANTS)[number];
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    variants: { type: 'string', default: VARIANTS.join(',') },
  },
});
const rounds = Number(values.rounds);
const names = chosenVariants(values.variants, VARIANTS);
// wrk on CPU 0, the target on CPU 1: each saturates its own core.
const load = { seconds: Number(values.seconds), connections: Number(values.connections), cpu: 0 };

const { child, port } = await startTarget('hello-server.ts', { cpu: 1 });
const url = `http://127.0.0.1:${port}/`;
const native = loadNative();
const FLOOR_PATH = fileURLToPath(new URL('../bpf/hook-floor.bpf.o', import.meta.url));
const TRACEPOINT_SENDS = ['floor_sendmsg_btf', 'floor_send_length_btf', 'floor_dev_queue_btf', 'floor_dev_xmit_btf'];

/** The floor object attached with one send path: its other send programs are not loaded. */
function openFloor(timestamping: boolean): NativeKernelObject {
  const object = new native.KernelObject(FLOOR_PATH);
  for (const p of object.programs()) {
    object.setAutoload(p.name, timestamping ? !TRACEPOINT_SENDS.includes(p.name) : p.name !== 'floor_tstamp_sockops');
  }
  object.load();
  const tgid = Buffer.alloc(4);
  tgid.writeUInt32LE(child.pid!);
  native.mapUpdate(object.mapFd('floor_tgid'), Buffer.alloc(4), tgid);
  object.attach(cgroup2Root() ?? undefined);
  return object;
}

const probes = (pid: number, timestamping: boolean) => () => {
  const session = KernelSession.open({ filter: { kind: 'pids', pids: [pid] }, timestamping });
  return () => session.close();
};
const floor = (timestamping: boolean) => () => {
  const object = openFloor(timestamping);
  return () => object.close();
};

interface Variant {
  label: string;
  /** Attaches what the variant measures and returns how to detach it; null: nothing attached. */
  attach: (() => () => void) | null;
  rps: number[];
  cpu: number[];
}
const variant = (label: string, attach: Variant['attach']): Variant => ({ label, attach, rps: [], cpu: [] });
const off = variant('probes off', null);
const choices: Record<VariantName, Variant> = {
  on: variant('probes on (timestamping)', probes(child.pid!, true)),
  'on-tracepoints': variant('probes on (tracepoints)', probes(child.pid!, false)),
  nothing: variant('observing nothing (timestamping)', probes(process.pid, true)),
  floor: variant('floor (timestamping)', floor(true)),
  'floor-tracepoints': variant('floor (tracepoints)', floor(false)),
};
const variants = [off, ...names.map((n) => choices[n])];
const perProgram = new Map<string, { ns: bigint; cnt: bigint }>();
const STATS_ROUNDS = 3;
/** BPF run time per request with statistics on, a figure a round: the default probes, and the timestamping floor. */
const statsNs = { on: [] as number[], floor: [] as number[] };

/** Attaches, runs wrk with BPF statistics on, and returns the programs' run time per request. */
async function bpfNsPerRequest(open: () => Pick<NativeKernelObject, 'progStats' | 'close'>, keep?: typeof perProgram): Promise<number> {
  const statsFd = native.enableStats();
  const attached = open();
  try {
    const r = await wrk(url, load);
    const stats = attached.progStats();
    if (keep) for (const p of stats) keep.set(p.name, { ns: p.runTimeNs, cnt: p.runCnt });
    return Number(stats.reduce((sum, p) => sum + p.runTimeNs, 0n)) / (r.rps * load.seconds);
  } finally {
    attached.close();
    native.closeFd(statsFd);
  }
}

async function measure(v: Variant): Promise<void> {
  const detach = v.attach?.();
  try {
    const r = await wrk(url, load);
    v.rps.push(r.rps);
    v.cpu.push(r.cpuNsPerRequest);
  } finally {
    detach?.();
  }
}

try {
  await wrk(url, { ...load, seconds: 2 }); // warm-up: JIT and connection setup
  for (let i = 0; i < rounds; i++) {
    for (const v of rotated(variants, i)) await measure(v);
    process.stderr.write(`round ${i + 1}/${rounds}: ${variants.map((v) => `${v.label} ${v.rps.at(-1)!.toFixed(0)}`).join(', ')} req/s\n`);
  }
  const session = () => {
    const s = KernelSession.open({ filter: { kind: 'pids', pids: [child.pid!] } });
    return { progStats: () => s.programStats(), close: () => s.close() };
  };
  for (let i = 0; i < STATS_ROUNDS; i++) {
    statsNs.on.push(await bpfNsPerRequest(session, perProgram));
    statsNs.floor.push(await bpfNsPerRequest(() => openFloor(true)));
  }
} finally {
  child.kill();
}

console.log(`fastify hello (CPU 1), wrk -t1 -c${load.connections} (CPU 0), ${rounds} interleaved rounds of ${load.seconds}s`);
const offRps = median(off.rps);
const offCpu = median(off.cpu);
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
for (const v of variants) {
  const ratios = v.rps.map((rps, i) => rps / off.rps[i]!);
  console.log(
    `${v.label.padEnd(34)} median ${median(v.rps).toFixed(0).padStart(6)} req/s, ${pct(median(v.rps) / offRps)} of probes off ` +
      `(round by round ${pct(median(ratios))}, ${intervalText(ratios, pct)}), ` +
      `machine CPU ${(median(v.cpu) / 1000).toFixed(2)} us a request (+${(median(v.cpu) - offCpu).toFixed(0)} ns)`,
  );
}
console.log('target: probes on >= 97 % of probes off');
console.log('cost per hook hit, default send path (run_time_ns / run_cnt, target <= 250 ns):');
let totalNs = 0n;
let totalCnt = 0n;
for (const [name, { ns, cnt }] of perProgram) {
  totalNs += ns;
  totalCnt += cnt;
  const per = cnt ? Number(ns) / Number(cnt) : 0;
  console.log(`  ${name.padEnd(18)} ${per.toFixed(0).padStart(5)} ns  (${cnt} hits)`);
}
if (totalCnt) console.log(`  ${'all programs'.padEnd(18)} ${(Number(totalNs) / Number(totalCnt)).toFixed(0).padStart(5)} ns`);
const onNs = median(statsNs.on);
const floorNs = median(statsNs.floor);
console.log(
  `BPF run time per request, statistics on (medians of ${STATS_ROUNDS} runs): probes ${onNs.toFixed(0)} ns, floor ${floorNs.toFixed(0)} ns; ` +
    `the program bodies ${(onNs - floorNs).toFixed(0)} ns  [${statsNs.on.map((x) => x.toFixed(0)).join(', ')} | ${statsNs.floor.map((x) => x.toFixed(0)).join(', ')}]`,
);

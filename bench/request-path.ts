/**
 * The tracer's own cost per request, in one process and without the network
 * or the kernel: a server span started and finished, with its socket owned
 * through the slot table (over plain memory, where the kernel's stage writes
 * are played by this script), without kernel stages, and with the profiler's
 * per-request work on top: its sample label, on a connection labelled once
 * or on its own, and the route totals, also with the socket owned. Saturated
 * HTTP figures on these VMs swing by 10 % or more between runs; these are
 * steady to a few percent, so they are the ones to read when changing the
 * request path.
 * Each variant runs in a process of its own: run one after another in one
 * process, the tracer's methods had seen every variant's objects, and the
 * later variants paid for the earlier ones' shapes (they charged about
 * 150 ns a request to "the profiler running", which costs under 10 alone).
 * `--connections` spreads the requests over that many connections in turn,
 * each with its own slot: one keeps everything in the caches; a few hundred
 * leave each connection's state cold by its next request, as a busy server's
 * are.
 *
 *   node bench/request-path.ts [--requests 1000000] [--rounds 5] [--connections 1]
 */
import { execFileSync } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { SharedMaps } from '../src/kernel/shared-maps.ts';
import { SLOT, SLOTS, STAGE_AGG } from '../src/kernel/layout.ts';
import { SLOT_TABLE_BYTES, SlotTable, aggOffset, tagOffset } from '../src/kernel/slot-table.ts';
import { RequestProfiler } from '../src/profile/profiler.ts';
import { RouteStats } from '../src/profile/route-stats.ts';
import { ExportSampler } from '../src/trace/export-sampler.ts';
import { SocketOwners } from '../src/trace/socket-owners.ts';
import { Tracer } from '../src/trace/tracer.ts';
import { median } from './lib/wrk.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '1' },
    variant: { type: 'string' },
  },
});
const requests = Number(values.requests);

const memory = new ArrayBuffer(SLOT_TABLE_BYTES);
const view = new DataView(memory);
const SEND_STAGES = ['tx_first', 'tx_send', 'dev_queue'] as const;

/** A connected TCP socket, as far as SocketOwners asks, with where its slot's parts sit. */
function connection(cookie: bigint) {
  const slot = Number(cookie % BigInt(SLOTS));
  return {
    socket: { remotePort: 40_000, cookie, once() {} } as unknown as Socket,
    parkedAt: aggOffset(slot, 'parked'),
    sendStages: SEND_STAGES.map((s) => aggOffset(slot, s)),
    genAt: slot * SLOT.size + SLOT.fields.gen.offset,
    tagAt: SEND_STAGES.map((s) => tagOffset(slot, s)),
  };
}
type Connection = ReturnType<typeof connection>;
/**
 * Requests take the connections in turn, as wrk's do: with many, what one
 * request leaves of its connection is out of the caches by its next (a
 * saturated server's requests run between dozens of others).
 */
const connections = Array.from({ length: Number(values.connections) }, (_, i) => connection(12_345n + BigInt(i)));
// Only what SocketOwners asks of the kernel's maps on the slot path.
const maps = {
  slots: () => new SlotTable(memory),
  socketCookie: (s: { cookie: bigint }) => s.cookie,
  takeRxPending: () => null,
} as unknown as SharedMaps;
const sampler = () => new ExportSampler({ ratio: 0.01, tailQuantile: 0.99 });

/** What the kernel adds for one request: a parked receive wait, then the response's send stages, tagged with the owner's generation. */
function kernelStage(c: Connection, offset: number, t: number, tag?: number): void {
  if (tag !== undefined) view.setUint32(tag, view.getUint32(c.genAt, true), true);
  const f = STAGE_AGG.fields;
  view.setUint32(offset + f.sum_ns.offset, 1_000, true);
  view.setUint32(offset + f.count.offset, 1, true);
  view.setUint32(offset + f.bytes.offset, 200, true);
  view.setUint32(offset + f.first_ns.offset, t, true);
  view.setUint32(offset + f.last_ns.offset, t + 1_000, true);
}

function nsPerRequest(tracer: Tracer): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < requests; i++) {
    const c = connections[i % connections.length]!;
    // Node's HTTP server has just read from the socket: it is in the caches, what only the tracer touches is not.
    if (c.socket.remotePort === 0) throw new Error('unreachable');
    kernelStage(c, c.parkedAt, i);
    const span = tracer.startServer('GET', '/', c.socket, undefined);
    // The handler runs in the request's context, where fastify names its route.
    // As for a request read by Node's parser, whose callback scope would restore the context after.
    tracer.enter(span, c.socket);
    tracer.rename(span, 'GET /hello');
    for (let k = 0; k < c.sendStages.length; k++) kernelStage(c, c.sendStages[k]!, i, c.tagAt[k]);
    tracer.finishServer(span, 200, undefined, 200);
  }
  return Number(process.hrtime.bigint() - start) / requests;
}

const withSlots = new Tracer({ owners: new SocketOwners(maps), sink: null, sampler: sampler() });
const withoutKernel = new Tracer({ owners: null, sink: null, sampler: sampler() });
// As the register entry wires them when WIREFLAME_PROFILE_DIR is set (default rate, no heap profile).
const profiler = new RequestProfiler({ intervalMicros: 10_000, heapIntervalBytes: 0 });
const routes = new RouteStats();
const profiled = new Tracer({ owners: null, sink: null, sampler: sampler(), labels: profiler });
profiled.onFinish((span) => routes.record(span));
// Both: the route totals then add up each request's kernel stages too.
const kernelRoutes = new RouteStats();
const profiledWithSlots = new Tracer({ owners: new SocketOwners(maps), sink: null, sampler: sampler(), labels: profiler });
profiledWithSlots.onFinish((span) => kernelRoutes.record(span));
/** Runs fn with every connection set up by the tracer, as a server it instruments accepts them. */
const accepted = <T>(tracer: Tracer, fn: () => T): T => connections.reduce((inner, c) => () => tracer.connection(c.socket, inner), fn)();

/** Each variant's rounds; those with the profiler start it first, as a process does. */
const VARIANTS = {
  none: () => nsPerRequest(withoutKernel),
  slots: () => nsPerRequest(withSlots),
  running: () => nsPerRequest(withoutKernel),
  profiled: () => accepted(profiled, () => nsPerRequest(profiled)),
  // Connections the profiled server never saw open (each variant runs in a process of its own): requests labelled one by one.
  alone: () => nsPerRequest(profiled),
  both: () => accepted(profiledWithSlots, () => nsPerRequest(profiledWithSlots)),
};
type Variant = keyof typeof VARIANTS;
const PROFILED: Variant[] = ['running', 'profiled', 'alone', 'both'];

if (values.variant !== undefined) {
  const variant = values.variant as Variant;
  if (PROFILED.includes(variant)) profiler.start();
  const ns = Array.from({ length: Number(values.rounds) }, VARIANTS[variant]);
  if (PROFILED.includes(variant)) profiler.stop();
  process.stdout.write(`${median(ns)}\n`);
} else {
  const self = fileURLToPath(import.meta.url);
  const measure = (variant: Variant) =>
    Number(execFileSync(process.execPath, [self, '--variant', variant, '--requests', values.requests, '--rounds', values.rounds, '--connections', values.connections], { encoding: 'utf8' }));
  const [none, slots, running, prof, alone, both] = (Object.keys(VARIANTS) as Variant[]).map(measure) as [number, number, number, number, number, number];
  console.log(`${requests} requests a round over ${connections.length} connection(s), medians of ${values.rounds} rounds, each variant in a fresh process`);
  console.log(`server span, kernel stages off:        ${none.toFixed(0)} ns a request`);
  console.log(`server span, socket owned in its slot: ${slots.toFixed(0)} ns a request (+${(slots - none).toFixed(0)} ns for the kernel link)`);
  console.log(`server span, profiler running:         ${running.toFixed(0)} ns a request (+${(running - none).toFixed(0)} ns, the request unlabelled)`);
  console.log(`server span, profiled:                 ${prof.toFixed(0)} ns a request (+${(prof - running).toFixed(0)} ns more for the connection's sample timeline and route totals)`);
  console.log(`  labelled on its own (no connection):  ${alone.toFixed(0)} ns a request (+${(alone - running).toFixed(0)} ns more for its own sample label and route totals)`);
  console.log(`server span, socket owned and profiled: ${both.toFixed(0)} ns a request (+${(both - slots).toFixed(0)} ns over owned alone: the profiler running, the timeline, route totals with kernel stages)`);
}

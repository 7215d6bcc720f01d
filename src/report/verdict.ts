/**
 * The root-cause verdict: which measured view explains the run's request
 * time, ranked, with its evidence. Only measured causes are named; a clean
 * run is called clean, and views that were not available are listed as
 * missing rather than guessed.
 */
import { BACKLOG_ERROR, type GeneratorHealth } from '../load/generator.ts';
import type { LatencySummary } from '../load/latency.ts';
import type { StageSummary } from '../kernel/stage-summary.ts';
import type { Stage } from '../kernel/layout.ts';
import type { PeerResult, ProfileSummaryResult, VerdictResult } from './result-schema.ts';
import { round } from '../util/round.ts';

export interface VerdictInput {
  latency: LatencySummary;
  requests: number;
  errorRatePct: number;
  /** Failed requests by kind, the generator's own backlog included. */
  errorKinds: Record<string, number>;
  generator: GeneratorHealth;
  /** Kernel stage summaries for the target's sockets, or null when kernel data is off. */
  kernel: Record<Stage, StageSummary> | null;
  /** How long the observed processes waited for each backend to answer. */
  peers: PeerResult[];
  /** The target's fused profile in numbers, or null when it was not profiled. */
  profile: ProfileSummaryResult | null;
}

/** Which span names belong to a backend service the kernel named: pg calls to postgresql, and so on. */
const OPERATION_PREFIX: Record<string, string> = { postgresql: 'pg ', redis: 'redis ' };

const TOP_EVIDENCE = 3;

/** Steal above this share of CPU time stalls a generator's schedule by itself (idle VMs here show well under 1 %). */
export const NOTABLE_STEAL_PCT = 2;

export const CPU_CAUSE = 'application CPU (JavaScript)';
/** Ranked first whatever its share: the other figures are only as good as the schedule it kept. */
export const GENERATOR_CAUSE = 'the load generator itself';
/**
 * A fast service spends much of its short requests running code: that share
 * alone is no fault, and explains no slow tail. JavaScript is a cause when it
 * takes at least this much per request (2 ms caps a process near 500 req/s).
 */
const CPU_HEAVY_MS = 2;

/** "burnCpu (app.js:12) 80 ms, ..." for the busiest functions. */
function topFunctions(profile: ProfileSummaryResult): string {
  return profile.top_functions
    .slice(0, TOP_EVIDENCE)
    .map((f) => `${f.name}${f.file ? ` (${f.file.split('/').pop()}:${f.line})` : ''} ${fmt(f.time_ms)} ms`)
    .join(', ');
}

function operationsOf(profile: ProfileSummaryResult | null, service: string | undefined): ProfileSummaryResult['operations'] {
  const prefix = service ? OPERATION_PREFIX[service] : undefined;
  return prefix && profile ? profile.operations.filter((o) => o.operation.startsWith(prefix)) : [];
}

const describeOperations = (ops: ProfileSummaryResult['operations']) =>
  ops
    .slice(0, TOP_EVIDENCE)
    .map((o) => `${o.operation} ${o.count} calls, ${fmt(o.mean_ms)} ms each`)
    .join('; ');

/** A run is slow when one measured cause explains at least this share of request time... */
export const SLOW_SHARE_PCT = 25;
/** ...and then every cause above this share is named. */
export const MIN_SHARE_PCT = 5;
/** p99 beyond this multiple of the median (and beyond SLOW_P99_MS) is a slow tail. */
export const TAIL_RATIO = 10;
export const SLOW_P99_MS = 10;
const ERROR_PCT = 1;

const STAGE_CAUSES: { stage: Stage; cause: string; what: string }[] = [
  {
    stage: 'rx_queue',
    cause: 'event-loop blocking (receive-queue wait)',
    what: "requests' bytes waited in the target's socket receive queue before it read them",
  },
  { stage: 'tx_send', cause: 'kernel send path', what: "responses' bytes waited between the send call and IP output" },
  { stage: 'dev_queue', cause: 'device queueing', what: "responses' packets waited in the device queue (qdisc)" },
];

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

export function judge(input: VerdictInput): VerdictResult {
  const missing = input.profile ? [] : ['application CPU profile', 'backend spans'];
  if (!input.kernel) missing.unshift('kernel stages');
  if (input.requests === 0) {
    return { status: 'inconclusive', summary: 'no request completed: nothing to judge', causes: [], missing };
  }
  const requestTimeMs = input.latency.mean_ms * input.requests;
  const causes: VerdictResult['causes'] = [];

  // Every process here waited for the hypervisor's steal, the target included.
  const steal = input.generator.stealPct !== null && input.generator.stealPct >= NOTABLE_STEAL_PCT ? input.generator.stealPct : null;
  if (input.generator.saturated) {
    const { cpuPct, sendLagP99Ms } = input.generator;
    const p99 = input.latency.p99_ms || 1;
    const late = `the generator used ${fmt(cpuPct)} % of a core and sent requests up to ${fmt(sendLagP99Ms)} ms late (p99)`;
    causes.push({
      cause: GENERATOR_CAUSE,
      share_pct: Math.min(100, round((sendLagP99Ms / p99) * 100, 1)),
      evidence:
        steal !== null
          ? `${late}, while the hypervisor took ${fmt(steal)} % of this machine's CPU time (steal): run it where CPUs are not shared`
          : `${late}: lower --rate or run it on another machine`,
    });
  }
  for (const { stage, cause, what } of STAGE_CAUSES) {
    const s = input.kernel?.[stage];
    if (!s || s.count === 0 || requestTimeMs <= 0) continue;
    const share = Math.min(100, (s.total_ms / requestTimeMs) * 100);
    if (share < MIN_SHARE_PCT) continue;
    causes.push({
      cause,
      share_pct: round(share, 1),
      evidence: `${what}: ${fmt(s.total_ms)} ms in total over ${s.count} waits, p99 at most ${fmt(s.p99_us / 1000)} ms`,
    });
  }
  for (const peer of input.peers) {
    if (requestTimeMs <= 0) break;
    const share = Math.min(100, (peer.total_ms / requestTimeMs) * 100);
    if (share < MIN_SHARE_PCT) continue;
    const ops = operationsOf(input.profile, peer.service);
    causes.push({
      cause: `backend ${peer.service ?? 'peer'} at ${peer.address}:${peer.port}`,
      share_pct: round(share, 1),
      evidence:
        `the service waited ${fmt(peer.total_ms)} ms in total for its answers over ${peer.count} requests ` +
        `(${fmt(peer.mean_ms)} ms each on average, from the request leaving to the answer arriving)` +
        (ops.length ? `; by operation: ${describeOperations(ops)}` : ''),
    });
  }
  // The profile's shares are of the request time it covered (warm-up included).
  const profile = input.profile;
  if (profile && profile.wall_ms > 0) {
    const cpuShare = Math.min(100, (profile.cpu_ms / profile.wall_ms) * 100);
    const cpuHeavy = profile.requests > 0 && profile.cpu_ms / profile.requests >= CPU_HEAVY_MS;
    if (cpuHeavy && cpuShare >= MIN_SHARE_PCT) {
      causes.push({
        cause: CPU_CAUSE,
        share_pct: round(cpuShare, 1),
        evidence:
          `requests ran JavaScript for ${fmt(profile.cpu_ms)} of their ${fmt(profile.wall_ms)} ms ` +
          `(${fmt(profile.requests ? profile.cpu_ms / profile.requests : 0)} ms each); busiest functions: ${topFunctions(profile)}`,
      });
    }
    // Without kernel data the backends are known by their spans alone.
    if (input.peers.length === 0) {
      for (const op of profile.operations) {
        const share = Math.min(100, (op.total_ms / profile.wall_ms) * 100);
        if (share < MIN_SHARE_PCT) continue;
        causes.push({
          cause: `backend operation ${op.operation}`,
          share_pct: round(share, 1),
          evidence: `${op.count} calls, ${fmt(op.total_ms)} ms in total, ${fmt(op.mean_ms)} ms each on average (client spans)`,
        });
      }
    }
  }
  const generatorFirst = causes.filter((c) => c.cause === GENERATOR_CAUSE);
  const ranked = [...generatorFirst, ...causes.filter((c) => c.cause !== GENERATOR_CAUSE).sort((a, b) => b.share_pct - a.share_pct)];

  const { p50_ms, p99_ms } = input.latency;
  const slowTail = p99_ms > SLOW_P99_MS && p99_ms > TAIL_RATIO * Math.max(p50_ms, 0.001);
  const dominant = ranked.some((c) => c.share_pct >= SLOW_SHARE_PCT);
  // The target's failures stand whatever the generator's schedule; its latencies do not.
  const targetErrors = input.errorRatePct - ((input.errorKinds[BACKLOG_ERROR] ?? 0) / input.requests) * 100;
  const status: VerdictResult['status'] =
    targetErrors >= ERROR_PCT
      ? 'errors'
      : input.generator.saturated
        ? 'inconclusive'
        : slowTail || dominant
          ? 'slow'
          : 'clean';
  // A clean run names no cause: small shares are the normal cost of serving.
  if (status === 'clean') ranked.length = 0;

  const unexplained = 'no measured view explains it' + (missing.length ? ` (${missing.join(', ')} not available)` : '');
  let summary: string;
  if (status === 'clean') {
    summary = `nothing stands out: p99 ${fmt(p99_ms)} ms against a median of ${fmt(p50_ms)} ms, no measured cause above ${SLOW_SHARE_PCT} % of request time`;
  } else if (status === 'inconclusive') {
    summary = 'the load generator could not keep its schedule: the figures describe it as much as the target';
  } else if (status === 'errors') {
    summary =
      `${fmt(input.errorRatePct)} % of requests failed` +
      (ranked[0] ? `; ${ranked[0].cause} explains ${fmt(ranked[0].share_pct)} % of request time` : `; ${unexplained}`);
  } else if (ranked[0]) {
    summary = `${ranked[0].cause} explains ${fmt(ranked[0].share_pct)} % of request time`;
  } else {
    summary = `slow tail: p99 ${fmt(p99_ms)} ms against a median of ${fmt(p50_ms)} ms; ${unexplained}`;
  }
  // What was measured is then partly the host.
  if (steal !== null) summary += `; the hypervisor took ${fmt(steal)} % of this machine's CPU time meanwhile (steal), which stalls every process on it`;
  return { status, summary, causes: ranked, missing };
}

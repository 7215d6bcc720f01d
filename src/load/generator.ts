/**
 * The load generator. Open loop (the default): requests are scheduled at a
 * constant arrival rate and each latency is measured from the request's
 * scheduled send time, so a stalled target cannot hide its stall by slowing
 * the generator down (no coordinated omission). Closed loop: N workers, each
 * sending its next request when the previous one answered.
 */
import { Latency } from './latency.ts';
import { round } from '../util/round.ts';
import { readCpuTimes, stealPct } from '../host/cpu-steal.ts';

export type Pacing = { kind: 'rate'; perSecond: number } | { kind: 'connections'; count: number };

export type Operation = (seq: number) => Promise<void>;

export interface Progress {
  phase: 'warmup' | 'measure' | 'drain';
  elapsedMs: number;
  /** Completions per second over the last interval. */
  rate: number;
  p99Ms: number;
  errors: number;
  inFlight: number;
}

export interface LoadOptions {
  operation: Operation;
  pacing: Pacing;
  durationMs: number;
  warmupMs?: number;
  /** Stops scheduling early; what was measured so far is kept. */
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  progressIntervalMs?: number;
  /** Called once when warm-up ends and measuring begins. */
  onMeasureStart?: () => void;
  /** How long requests still in flight at the end may take to answer. */
  drainMs?: number;
  /** Open loop bound on requests in flight; beyond it a request fails as BACKLOG_ERROR. */
  maxInFlight?: number;
}

export interface GeneratorHealth {
  /** CPU the generator's process used, in % of one core, over the run. */
  cpuPct: number;
  /** How late requests left against their schedule (open loop), p99. */
  sendLagP99Ms: number;
  /** The generator could not keep up: its numbers say more about it than about the target. */
  saturated: boolean;
  /** CPU time the hypervisor took from this machine over the run, in % of all of it (cpu-steal.ts); null where unknown. */
  stealPct: number | null;
}

export interface LoadResult {
  /** Requests scheduled in the measured phase that completed or failed. */
  requests: number;
  errors: number;
  errorKinds: Record<string, number>;
  latency: Latency;
  /** Wall time of the measured phase. */
  measuredMs: number;
  interrupted: boolean;
  /** Requests that had not answered when the drain time ran out (counted as errors). */
  unanswered: number;
  generator: GeneratorHealth;
}

/** A request the generator failed itself, for too many already in flight: no fault of the target. */
export const BACKLOG_ERROR = 'generator backlog';

const SATURATED_CPU_PCT = 90;
const SATURATED_LAG_MS = 20;

// performance.now() is monotonic and cheaper than hrtime.bigint() in the hot path.
const nowNs = () => performance.now() * 1e6;

function errorKind(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; statusCode?: unknown; name?: unknown };
    if (typeof e.statusCode === 'number') return `http ${e.statusCode}`;
    if (typeof e.code === 'string') return e.code;
    if (typeof e.name === 'string' && e.name !== 'Error') return e.name;
  }
  return 'error';
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const warmupNs = (opts.warmupMs ?? 0) * 1e6;
  const start = nowNs();
  const measureFrom = start + warmupNs;
  const end = measureFrom + opts.durationMs * 1e6;
  const latency = new Latency();
  const sendLag = new Latency();
  const errorKinds: Record<string, number> = {};
  const maxInFlight = opts.maxInFlight ?? 100_000;
  let requests = 0;
  let errors = 0;
  let inFlight = 0;
  let completedInInterval = 0;
  let stopped = false;
  /** Set once the result is taken: late answers no longer count. */
  let closed = false;
  let settle: (() => void) | undefined;
  const cpuStart = process.cpuUsage();
  const timesStart = readCpuTimes();
  const measureStart = setTimeout(() => opts.onMeasureStart?.(), warmupNs / 1e6);

  const fail = (kind: string) => {
    errors++;
    errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
  };

  /** One request, timed from `scheduled` (ns). */
  const launch = (seq: number, scheduled: number): Promise<void> => {
    const measured = scheduled >= measureFrom;
    if (measured) sendLag.recordNs(nowNs() - scheduled);
    inFlight++;
    return opts.operation(seq).then(
      () => {
        if (measured && !closed) {
          latency.recordNs(nowNs() - scheduled);
          requests++;
        }
      },
      (err: unknown) => {
        if (measured && !closed) {
          latency.recordNs(nowNs() - scheduled);
          requests++;
          fail(errorKind(err));
        }
      },
    ).finally(() => {
      inFlight--;
      completedInInterval++;
      if (inFlight === 0 && settle) settle();
    });
  };

  const stop = () => {
    stopped = true;
  };
  opts.signal?.addEventListener('abort', stop, { once: true });

  let lastTick = nowNs();
  const progress = opts.onProgress
    ? setInterval(() => {
        const t = nowNs();
        opts.onProgress!({
          phase: t < measureFrom ? 'warmup' : t < end && !stopped ? 'measure' : 'drain',
          elapsedMs: (t - start) / 1e6,
          rate: completedInInterval / ((t - lastTick) / 1e9),
          p99Ms: latency.percentileMs(99),
          errors,
          inFlight,
        });
        completedInInterval = 0;
        lastTick = t;
      }, opts.progressIntervalMs ?? 1000)
    : undefined;

  if (opts.pacing.kind === 'rate') {
    const intervalNs = 1e9 / opts.pacing.perSecond;
    let seq = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const t = nowNs();
        for (let due = start + seq * intervalNs; due <= t && due < end && !stopped; due = start + seq * intervalNs) {
          if (inFlight >= maxInFlight) {
            if (due >= measureFrom) {
              requests++;
              fail(BACKLOG_ERROR);
            }
          } else {
            void launch(seq, due);
          }
          seq++;
        }
        const next = start + seq * intervalNs;
        if (stopped || next >= end) return resolve();
        setTimeout(tick, Math.max(0, Math.floor((next - nowNs()) / 1e6)));
      };
      tick();
    });
  } else {
    let seq = 0;
    const worker = async () => {
      while (!stopped && nowNs() < end) {
        await launch(seq++, nowNs());
        // Operations that fail at once would otherwise loop on microtasks
        // alone and starve timers and signals.
        if ((seq & 255) === 0) await new Promise(setImmediate);
      }
    };
    await Promise.all(Array.from({ length: opts.pacing.count }, worker));
  }
  const measuredEnd = Math.min(nowNs(), end);

  // Requests still in flight: give them the drain time, then count them as failed.
  let unanswered = 0;
  if (inFlight > 0) {
    let drainTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => (settle = resolve)),
      new Promise<void>((resolve) => (drainTimer = setTimeout(resolve, opts.drainMs ?? 10_000))),
    ]);
    clearTimeout(drainTimer);
    unanswered = inFlight;
    closed = true;
    for (let i = 0; i < unanswered; i++) {
      requests++;
      fail('no answer before the run ended');
    }
  }
  if (progress) clearInterval(progress);
  clearTimeout(measureStart);
  opts.signal?.removeEventListener('abort', stop);

  const cpu = process.cpuUsage(cpuStart);
  const wallUs = (nowNs() - start) / 1000;
  const cpuPct = wallUs > 0 ? ((cpu.user + cpu.system) / wallUs) * 100 : 0;
  const sendLagP99Ms = opts.pacing.kind === 'rate' ? sendLag.percentileMs(99) : 0;
  const steal = stealPct(timesStart, readCpuTimes());
  return {
    requests,
    errors,
    errorKinds,
    latency,
    measuredMs: Math.max(0, (measuredEnd - measureFrom) / 1e6),
    interrupted: stopped,
    unanswered,
    generator: {
      cpuPct: round(cpuPct, 1),
      sendLagP99Ms,
      saturated: cpuPct >= SATURATED_CPU_PCT || sendLagP99Ms >= SATURATED_LAG_MS,
      stealPct: steal === null ? null : round(steal, 1),
    },
  };
}

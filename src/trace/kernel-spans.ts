/**
 * Kernel time on spans: attributes under one prefix, and one child span per
 * stage placed where the kernel saw it. Pure functions of a span record.
 */
import type { StageAgg } from '../kernel/codec.ts';
import { STAGES, type Stage } from '../kernel/layout.ts';
import type { AttributeValue, SpanRecord } from './span-record.ts';

export const KERNEL_PREFIX = 'wireflame.kernel';

/** What each stage's child span is called; the same names head the flame graph frames. */
export const STAGE_SPAN_NAMES: Record<Stage, string> = {
  rx_queue: '[kernel] receive queue',
  tx_first: '[kernel] tcp send, first byte',
  tx_send: '[kernel] tcp send queue',
  dev_queue: '[kernel] device queue',
  peer_wait: '[kernel] peer answer wait',
};

/** Stages with at least one occurrence. */
function present(kernel: SpanRecord['kernel']): [Stage, StageAgg][] {
  const out: [Stage, StageAgg][] = [];
  if (!kernel) return out;
  for (const stage of STAGES) {
    const agg = kernel[stage];
    if (agg && agg.count > 0) out.push([stage, agg]);
  }
  return out;
}

/**
 * Each stage's attribute names, made once: names built for every exported
 * span are new strings, hashed at each store (1.9 µs a span, against 0.3 µs
 * with these).
 */
const STAGE_KEYS = Object.fromEntries(
  STAGES.map((stage) => {
    const p = `${KERNEL_PREFIX}.${stage}`;
    return [stage, { wait: `${p}.wait_ns`, max: `${p}.max_ns`, count: `${p}.count`, bytes: `${p}.bytes` }];
  }),
) as Record<Stage, { wait: string; max: string; count: string; bytes: string }>;
const HOOKS_KEY = `${KERNEL_PREFIX}.hooks`;

/**
 * `wireflame.kernel.<stage>.{wait_ns,max_ns,count,bytes}` for every stage the
 * span's socket went through, and `wireflame.kernel.hooks` naming the attach
 * modes that measured them.
 */
export function kernelAttributes(kernel: SpanRecord['kernel'], hooks: string | undefined): Record<string, AttributeValue> {
  const attrs: Record<string, AttributeValue> = {};
  const stages = present(kernel);
  for (const [stage, agg] of stages) {
    const key = STAGE_KEYS[stage];
    attrs[key.wait] = agg.sumNs;
    attrs[key.max] = agg.maxNs;
    attrs[key.count] = agg.count;
    if (agg.bytes > 0) attrs[key.bytes] = agg.bytes;
  }
  if (hooks && stages.length) attrs[HOOKS_KEY] = hooks;
  return attrs;
}

export interface StageInterval {
  stage: Stage;
  name: string;
  startNs: number;
  endNs: number;
  agg: StageAgg;
}

/**
 * Where each stage happened: from the start of its first occurrence to the
 * end of its last, clamped into [startNs, endNs]. Every exported span costs
 * the service ~10 us (bench/export-cost.ts), so a stage gets a child span
 * only where it says something its parent's attributes do not: not a stage
 * the kernel did not time, nor one that took no time (a device without a
 * queue), nor a first byte's send that is the whole send (a response that
 * left in one piece). Their attributes stay.
 */
export function stageIntervals(kernel: SpanRecord['kernel'], startNs: number, endNs: number): StageInterval[] {
  const send = kernel?.tx_send;
  return present(kernel)
    .filter(([, agg]) => agg.firstNs > 0 && agg.lastNs >= agg.firstNs && agg.sumNs > 0)
    .filter(([stage, agg]) => !(stage === 'tx_first' && send && agg.firstNs === send.firstNs && agg.lastNs === send.lastNs))
    .map(([stage, agg]) => {
      const s = Math.min(Math.max(agg.firstNs, startNs), endNs);
      const e = Math.min(Math.max(agg.lastNs, s), endNs);
      return { stage, name: STAGE_SPAN_NAMES[stage], startNs: s, endNs: e, agg };
    });
}

/**
 * A server span begins when its bytes began waiting in the receive queue,
 * not when JavaScript first saw them: that wait is part of the request.
 */
export function serverStartNs(span: SpanRecord): number {
  const rx = span.kernel?.rx_queue;
  if (!rx || rx.firstNs === 0) return span.startNs;
  return Math.min(span.startNs, rx.firstNs);
}

/** Adds one span's stages into another's: parked receive waits, or what a later take found. */
export function mergeStats(a: SpanRecord['kernel'], b: NonNullable<SpanRecord['kernel']>): NonNullable<SpanRecord['kernel']> {
  if (!a) return b;
  const out = { ...a };
  for (const stage of STAGES) {
    const agg = b[stage];
    if (agg) out[stage] = mergeAgg(out[stage], agg);
  }
  return out;
}

/**
 * Whether the kernel has sent everything the span wrote. Node reports a
 * write finished once the kernel has the bytes, which for a large response
 * is before they are transmitted: its last send stage ends later. Where each
 * send call's device-queue time is recorded when the driver takes its last
 * byte (`atDriver`, the timestamping path), the bytes have left once that
 * stage covers them all; elsewhere, once they all reached IP output.
 */
export function sendComplete(kernel: SpanRecord['kernel'], bytesWritten: number, atDriver: boolean): boolean {
  if (bytesWritten <= 0) return true;
  const left = atDriver ? kernel?.dev_queue : kernel?.tx_send;
  return (left?.bytes ?? 0) >= bytesWritten;
}

/** The end of the span's latest kernel stage (CLOCK_MONOTONIC ns), 0 without any. */
export function lastStageEndNs(kernel: SpanRecord['kernel']): number {
  if (!kernel) return 0;
  // Each stage by name, not a loop over STAGES: every request ends here, and
  // a property read keyed by a varying stage is megamorphic.
  return Math.max(endOf(kernel.rx_queue), endOf(kernel.tx_first), endOf(kernel.tx_send), endOf(kernel.dev_queue), endOf(kernel.peer_wait));
}

const endOf = (agg: StageAgg | undefined): number => (agg && agg.count > 0 ? agg.lastNs : 0);

/** A server span's stages, with the receive waits the kernel parked for it before it began. */
export function withParkedRx(kernel: NonNullable<SpanRecord['kernel']>, parked: StageAgg): NonNullable<SpanRecord['kernel']> {
  return {
    rx_queue: mergeAgg(kernel.rx_queue, parked),
    tx_first: kernel.tx_first,
    tx_send: kernel.tx_send,
    dev_queue: kernel.dev_queue,
    peer_wait: kernel.peer_wait,
  };
}

/** Adds one aggregate into another. */
export function mergeAgg(a: StageAgg | undefined, b: StageAgg): StageAgg {
  if (!a) return b;
  // 0 is "not timed", not the earliest time.
  const first = a.firstNs === 0 ? b.firstNs : b.firstNs === 0 ? a.firstNs : Math.min(a.firstNs, b.firstNs);
  return {
    sumNs: a.sumNs + b.sumNs,
    maxNs: Math.max(a.maxNs, b.maxNs),
    count: a.count + b.count,
    bytes: a.bytes + b.bytes,
    firstNs: first,
    lastNs: Math.max(a.lastNs, b.lastNs),
  };
}

/**
 * The slot table (wf_slots): per-request socket owners and stage aggregates
 * in an mmap'd BPF array, read and written as plain memory. A request costs
 * no system call: a bpf() call costs ~3 us here, a slot write ~0.1 us. See
 * the protocol in bpf/wireflame.h.
 */
import type { StageAgg } from './codec.ts';
import { OWNER_SERVER, SLOT, SLOTS, STAGE_AGG, STAGES, type Stage } from './layout.ts';

const MASK = BigInt(SLOTS - 1);
const F = SLOT.fields;
const A = STAGE_AGG.fields;
/** Where each stage's aggregate sits among a slot's stages. */
const AT = Object.fromEntries(STAGES.map((stage, i) => [stage, i * STAGE_AGG.size])) as Record<Stage, number>;
const TWO32 = 2 ** 32;

export const SLOT_TABLE_BYTES = SLOTS * SLOT.size;

/** Where one of a slot's aggregates sits in the table, in bytes: a stage's, or ('parked') its parked receive waits. */
export function aggOffset(slot: number, which: Stage | 'parked'): number {
  return slot * SLOT.size + (which === 'parked' ? F.parked_rx.offset : F.stage.offset + AT[which]);
}

/** Where a slot's stage aggregate's generation tag sits in the table, in bytes: 64 bits, little-endian. */
export function tagOffset(slot: number, stage: Stage): number {
  return slot * SLOT.size + F.stage_gen.offset + STAGES.indexOf(stage) * 8;
}

/** Each stage's tag within a slot in 32-bit words: the tag's low word, which holds a 32-bit generation. */
const TAG = Object.fromEntries(STAGES.map((stage) => [stage, tagOffset(0, stage) / 4])) as Record<Stage, number>;
/** The same, by the stage's index. */
const TAG_AT = STAGES.map((stage) => TAG[stage]);

/**
 * Clears bytes [offset, offset + length), 8-byte aligned, as doubles: a
 * zero double is eight zero bytes, in half the stores of words. A plain
 * loop, where TypedArray#fill is a call into C++ for a few dozen words.
 */
function zero(f64: Float64Array, offset: number, length: number): void {
  for (let i = offset / 8, end = (offset + length) / 8; i < end; i++) f64[i] = 0;
}

export class SlotTable {
  private readonly words: BigInt64Array;
  private readonly u32: Uint32Array;
  private readonly f64: Float64Array;

  constructor(memory: ArrayBuffer) {
    if (memory.byteLength < SLOT_TABLE_BYTES) throw new RangeError(`slot table needs ${SLOT_TABLE_BYTES} bytes, got ${memory.byteLength}`);
    this.words = new BigInt64Array(memory, 0, SLOT_TABLE_BYTES / 8);
    this.u32 = new Uint32Array(memory, 0, SLOT_TABLE_BYTES / 4);
    this.f64 = new Float64Array(memory, 0, SLOT_TABLE_BYTES / 8);
  }

  /**
   * The socket's slot, claimed for it; -1 when another live socket holds
   * it (that socket then takes the hash path). Atomic: other processes
   * claim slots in the same table.
   */
  claim(cookie: bigint): number {
    const slot = Number(cookie & MASK);
    const old = Atomics.compareExchange(this.words, (slot * SLOT.size + F.cookie.offset) / 8, 0n, cookie);
    if (old === 0n) {
      // A closed socket's leftovers are not the new one's.
      zero(this.f64, aggOffset(slot, 'parked'), STAGE_AGG.size);
    }
    return old === 0n || old === cookie ? slot : -1;
  }

  /** Frees the slot if the socket still holds it (the kernel also frees it at close). */
  release(slot: number, cookie: bigint): void {
    Atomics.compareExchange(this.words, (slot * SLOT.size + F.cookie.offset) / 8, cookie, 0n);
  }

  /**
   * A new owner: its ids (the words of their bytes, from trace-context's
   * idWords) and a new generation, bumped last so that the kernel never adds
   * to the new owner under the old one's. Its stages start empty without a
   * write: the old owner's are tagged with the old generation, and the
   * kernel clears each as it first adds to it. Returns the generation.
   */
  setOwner(slot: number, ids: Uint32Array, server: boolean): number {
    const base = slot * SLOT.size;
    const trace = (base + F.trace_id.offset) / 4;
    const span = (base + F.span_id.offset) / 4;
    const u32 = this.u32;
    u32[trace] = ids[0]!;
    u32[trace + 1] = ids[1]!;
    u32[trace + 2] = ids[2]!;
    u32[trace + 3] = ids[3]!;
    u32[span] = ids[4]!;
    u32[span + 1] = ids[5]!;
    u32[(base + F.flags.offset) / 4] = server ? OWNER_SERVER : 0;
    const genIndex = (base + F.gen.offset) / 4;
    // Only the socket that claimed the slot writes its generation, so a
    // plain read and an ordered store suffice (Atomics.add was a call into a
    // builtin at every request). 0 means "no owner yet" to the kernel.
    const gen = (u32[genIndex]! + 1) >>> 0 || 1;
    Atomics.store(u32, genIndex, gen);
    return gen;
  }

  /** A server's parked receive waits (the request starting now), cleared. */
  takeParked(slot: number): StageAgg | null {
    const offset = aggOffset(slot, 'parked');
    const agg = this.readAgg(offset);
    if (agg) zero(this.f64, offset, STAGE_AGG.size);
    return agg;
  }

  /**
   * The owner's stages so far, left in place: reading cannot race the kernel
   * out of an update (clearing can: a segment sent from a softirq on another
   * CPU between a read and a clear would be lost). Only stages tagged with
   * the owner's generation are its own. Null when another owner has the slot
   * now, or nothing happened yet.
   */
  read(slot: number, gen: number): Partial<Record<Stage, StageAgg>> | null {
    const base = slot * SLOT.size;
    if (this.u32[(base + F.gen.offset) / 4] !== gen) return null;
    // Every stage named, present or not: one object shape for every request,
    // read by name where a request ends (keyed by a varying stage, the
    // property accesses went megamorphic).
    const out = {
      rx_queue: this.ownAgg(base, 'rx_queue', gen),
      tx_first: this.ownAgg(base, 'tx_first', gen),
      tx_send: this.ownAgg(base, 'tx_send', gen),
      dev_queue: this.ownAgg(base, 'dev_queue', gen),
      peer_wait: this.ownAgg(base, 'peer_wait', gen),
    };
    return out.rx_queue || out.tx_first || out.tx_send || out.dev_queue || out.peer_wait ? out : null;
  }

  /**
   * The bytes of one of the owner's stages so far, 0 when it has none or
   * another owner has the slot now: what a finished request needs to know
   * whether its response has left, read without building the aggregates
   * (most requests are never exported, and building them was a sixth of the
   * tracer's cost a request).
   */
  stageBytes(slot: number, gen: number, stage: Stage): number {
    const base = slot * SLOT.size;
    if (this.u32[(base + F.gen.offset) / 4] !== gen || this.u32[base / 4 + TAG[stage]] !== gen) return 0;
    return this.u64(base + F.stage.offset + AT[stage] + A.bytes.offset);
  }

  /** When the owner's latest stage ended (CLOCK_MONOTONIC ns), 0 when it has none or lost the slot; read as stageBytes is. */
  lastEndNs(slot: number, gen: number): number {
    const base = slot * SLOT.size;
    if (this.u32[(base + F.gen.offset) / 4] !== gen) return 0;
    let last = 0;
    for (let i = 0; i < STAGES.length; i++) {
      if (this.u32[base / 4 + TAG_AT[i]!] !== gen) continue;
      const agg = base + F.stage.offset + i * STAGE_AGG.size;
      if (this.u64(agg + A.count.offset) > 0) last = Math.max(last, this.u64(agg + A.last_ns.offset));
    }
    return last;
  }

  /** The slot's aggregate of a stage, if it is generation `gen`'s. */
  private ownAgg(base: number, stage: Stage, gen: number): StageAgg | undefined {
    if (this.u32[base / 4 + TAG[stage]] !== gen) return undefined;
    return this.readAgg(base + F.stage.offset + AT[stage]) ?? undefined;
  }

  private u64(offset: number): number {
    const i = offset / 4;
    return this.u32[i]! + this.u32[i + 1]! * TWO32;
  }

  private readAgg(offset: number): StageAgg | null {
    const count = this.u64(offset + A.count.offset);
    if (count === 0) return null;
    return {
      sumNs: this.u64(offset + A.sum_ns.offset),
      maxNs: this.u64(offset + A.max_ns.offset),
      count,
      bytes: this.u64(offset + A.bytes.offset),
      firstNs: this.u64(offset + A.first_ns.offset),
      lastNs: this.u64(offset + A.last_ns.offset),
    };
  }
}

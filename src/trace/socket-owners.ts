/**
 * Tells the kernel which span owns a socket, and takes the span's kernel
 * time back at its end. A socket's first use costs system calls (its cookie,
 * its slot, its first request's parked bytes); every request after that is
 * plain memory in the mmap'd slot table. A socket whose slot another live
 * socket holds falls back to the shared hash: one bpf() call per owner
 * change, one at span end.
 */
import type { Socket } from 'node:net';
import type { StageAgg } from '../kernel/codec.ts';
import type { Stage } from '../kernel/layout.ts';
import type { SharedMaps } from '../kernel/shared-maps.ts';
import type { SlotTable } from '../kernel/slot-table.ts';
import { lastStageEndNs, mergeStats, sendComplete } from './kernel-spans.ts';
import { idWords, type SpanId, type TraceId } from './trace-context.ts';

/**
 * Where a span's kernel time accumulates: a slot at a generation, or (slot
 * -1) the hash, keyed by its ids.
 */
export interface KernelHold {
  slot: number;
  gen: number;
  trace: TraceId;
  span: SpanId;
  /**
   * What is already out of the kernel: on the hash path, every read so far;
   * on a slot, its stages as they were when the socket's next owner took it
   * (the next request can only come once this one's bytes are all out).
   */
  settled: Partial<Record<Stage, StageAgg>> | null;
  /** The slot has a new owner, or the span ended: settled is final. */
  superseded: boolean;
  /** The socket's state, which holds this hold until it settles. */
  socket: SocketState;
  /** A server socket's receive waits, parked by the kernel before this owner began. */
  parked: StageAgg | null;
}

const STATE = Symbol('wireflame.socket');

/**
 * What a socket carries for its owners, in one object set once: changing a
 * property of the socket itself at every request would make the property
 * accesses on sockets megamorphic.
 */
interface SocketState {
  cookie: bigint;
  /** -1: the hash path. */
  slot: number;
  /**
   * The owner's hold while it runs; null once it settled. A settled hold is
   * let go at once rather than at the next owner's start: by then, dozens
   * of other connections' requests later, it is out of the CPU's caches,
   * and reading it cost the next request a cache miss (a third of own()'s
   * time under perf). Nor does an idle connection keep it.
   */
  hold: KernelHold | null;
}

interface Tagged {
  [STATE]?: SocketState;
}

export interface OwnerCounters {
  /** Owner changes written to the slot table. */
  slotWrites: number;
  /** Owner changes written to the hash (the socket's slot was taken). */
  hashWrites: number;
  /** Owner writes skipped: the socket already belonged to that span. */
  unchanged: number;
  /** Sockets that could not be tagged (closed, map full). */
  failed: number;
  /** Owner changes on sockets with no TCP peer (a Unix socket, or not connected): the kernel times only TCP. */
  untimed: number;
}

export class SocketOwners {
  readonly counters: OwnerCounters = { slotWrites: 0, hashWrites: 0, unchanged: 0, failed: 0, untimed: 0 };
  private readonly maps: SharedMaps;
  private readonly slots: SlotTable;
  /** The owner's ids as the slot takes them, filled for each owner change. */
  private readonly ids = new Uint32Array(6);

  constructor(maps: SharedMaps) {
    this.maps = maps;
    this.slots = maps.slots();
  }

  /** See SharedMaps.sendEndsAtDriver. */
  get sendEndsAtDriver(): boolean {
    return this.maps.sendEndsAtDriver;
  }

  /** From now on the socket's kernel time goes to the span; null when the socket cannot be tagged. */
  own(socket: Socket, trace: TraceId, span: SpanId, server: boolean): KernelHold | null {
    const s = socket as Socket & Tagged;
    const bound = s[STATE];
    const held = bound?.hold;
    if (held && held.span === span) {
      this.counters.unchanged++;
      return held;
    }
    // A connected TCP socket has a peer port; a Unix socket never has, and a
    // span that held one would wait in vain for its send stages.
    if (!bound && socket.remotePort === undefined) {
      this.counters.untimed++;
      return null;
    }
    try {
      const first = bound === undefined;
      const state = bound ?? (s[STATE] = this.bind(s));
      const { cookie, slot } = state;
      // An owner still running (a response whose last bytes are still going out) ends its slot stages here.
      if (held && held.slot >= 0) this.settle(held, this.slots.read(held.slot, held.gen));
      // A server's bytes that arrived before the socket had a slot owner (its
      // first request, or any request on the hash path) were parked in the hash.
      let parked = server && (first || slot < 0) ? this.maps.takeRxPending(cookie) : null;
      let gen = 0;
      if (slot >= 0) {
        const slotParked = server ? this.slots.takeParked(slot) : null;
        parked ??= slotParked;
        idWords(trace, span, this.ids);
        gen = this.slots.setOwner(slot, this.ids, server);
        this.counters.slotWrites++;
      } else {
        this.maps.setOwner(cookie, { traceId: trace.toHex(), spanId: span.toHex(), server });
        this.counters.hashWrites++;
      }
      const hold: KernelHold = { slot, gen, trace, span, settled: null, superseded: false, socket: state, parked };
      state.hold = hold;
      return hold;
    } catch {
      // Closed meanwhile, or the map is full: tried again at the next owner change.
      this.counters.failed++;
      return null;
    }
  }

  /** The span's kernel time so far, all of it at every call (read again while its last bytes go out). */
  read(hold: KernelHold): Partial<Record<Stage, StageAgg>> | null {
    if (hold.superseded) return hold.settled;
    if (hold.slot >= 0) return this.slots.read(hold.slot, hold.gen);
    try {
      const delta = this.maps.takeSpanStats({ traceId: hold.trace.toHex(), spanId: hold.span.toHex() });
      if (delta) hold.settled = mergeStats(hold.settled, delta);
    } catch {
      this.counters.failed++;
    }
    return hold.settled;
  }

  /**
   * Whether the kernel has sent all the span wrote (see kernel-spans'
   * sendComplete). On a slot it is read in place, without building the
   * stages' aggregates, which most requests never need; on the hash, every
   * call takes what the kernel added since, as read() does.
   */
  sent(hold: KernelHold, bytesWritten: number): boolean {
    const atDriver = this.maps.sendEndsAtDriver;
    if (hold.superseded || hold.slot < 0) return sendComplete(this.read(hold), bytesWritten, atDriver);
    if (bytesWritten <= 0) return true;
    return this.slots.stageBytes(hold.slot, hold.gen, atDriver ? 'dev_queue' : 'tx_send') >= bytesWritten;
  }

  /** When the span's latest kernel stage ended, 0 without any: on a slot read in place, on the hash as of the last sent() or read(). */
  lastEndNs(hold: KernelHold): number {
    if (hold.superseded || hold.slot < 0) return lastStageEndNs(hold.settled);
    return this.slots.lastEndNs(hold.slot, hold.gen);
  }

  /** The span's kernel time is final: it ended, or the socket's next owner took the slot. */
  settle(hold: KernelHold, kernel: Partial<Record<Stage, StageAgg>> | null): void {
    hold.settled = kernel;
    hold.superseded = true;
    if (hold.socket.hold === hold) hold.socket.hold = null;
  }

  private bind(s: Socket): SocketState {
    const cookie = this.maps.socketCookie(s);
    const slot = this.slots.claim(cookie);
    if (slot >= 0) s.once('close', () => this.slots.release(slot, cookie));
    return { cookie, slot, hold: null };
  }
}

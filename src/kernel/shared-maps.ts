/**
 * The maps user space shares with the programs to tie kernel time to spans:
 * socket owners in, per-span aggregates and parked receive waits out. The
 * same operations serve a process that loaded the programs (KernelSession)
 * and one that found an agent's pinned maps (PinnedMaps).
 */
import type { Socket } from 'node:net';
import type { Native } from './addon.ts';
import {
  decodeOwner,
  decodeSpanStats,
  decodeStageAgg,
  encodeOwner,
  encodeOwnerKey,
  encodeU64,
  type Owner,
  type StageAgg,
} from './codec.ts';
import { OWNER, SPAN_STATS, STAGE_AGG, type Stage } from './layout.ts';
import { SLOT_TABLE_BYTES, SlotTable } from './slot-table.ts';

export const SHARED_MAPS = {
  owners: 'wf_owners',
  spanStats: 'wf_span_stats',
  rxPending: 'wf_rx_pending',
  slots: 'wf_slots',
} as const;

/** The programs' settings; services read it (read-only) to learn how sends are timed. */
export const CONFIG_MAP = 'wf_config_map';

export type SharedMapFds = Record<keyof typeof SHARED_MAPS, number>;

/** The kernel fd of a connected net.Socket (Linux keeps it on the handle). */
export function socketFd(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new TypeError('socket has no file descriptor (not connected, or not a TCP socket)');
  return fd;
}

export class SharedMaps {
  protected readonly native: Native;
  private readonly shared: SharedMapFds;
  /**
   * A send call's device-queue stage is recorded once the driver took its
   * last byte (see hooks.ts, sendEndsAtDriver): a span's bytes have left
   * when that stage covers them.
   */
  readonly sendEndsAtDriver: boolean;

  private slotTable: SlotTable | undefined;

  constructor(native: Native, shared: SharedMapFds, sendEndsAtDriver: boolean) {
    this.native = native;
    this.shared = shared;
    this.sendEndsAtDriver = sendEndsAtDriver;
  }

  /** The mmap'd slot table, mapped on first use; it lives as long as this process. */
  slots(): SlotTable {
    this.slotTable ??= new SlotTable(this.native.mapMmap(this.shared.slots, SLOT_TABLE_BYTES));
    return this.slotTable;
  }

  socketCookie(socket: Socket): bigint {
    return this.native.socketCookie(socketFd(socket));
  }

  /** The span that owns the socket from now on. One syscall; call it only when the owner changes. */
  setOwner(cookie: bigint, owner: Owner): void {
    this.native.mapUpdate(this.shared.owners, encodeU64(cookie), encodeOwner(owner));
    this.ownerWritten();
  }

  /** Called after every owner write; a loader uses it to turn owner lookups on. */
  protected ownerWritten(): void {}

  owner(cookie: bigint): Owner | null {
    const buf = this.native.mapLookup(this.shared.owners, encodeU64(cookie), OWNER.size);
    return buf ? decodeOwner(buf) : null;
  }

  clearOwner(cookie: bigint): void {
    this.native.mapDelete(this.shared.owners, encodeU64(cookie));
  }

  /** The span's stage aggregates, removed from the kernel; null when it had no kernel time. */
  takeSpanStats(owner: Pick<Owner, 'traceId' | 'spanId'>): Record<Stage, StageAgg> | null {
    const buf = this.native.mapLookupAndDelete(this.shared.spanStats, encodeOwnerKey(owner), SPAN_STATS.size);
    return buf ? decodeSpanStats(buf) : null;
  }

  /** Receive-queue waits of a server socket since the last claim. */
  takeRxPending(cookie: bigint): StageAgg | null {
    const buf = this.native.mapLookupAndDelete(this.shared.rxPending, encodeU64(cookie), STAGE_AGG.size);
    return buf ? decodeStageAgg(buf) : null;
  }
}

/**
 * Bytes to and from the kernel structs of layout.ts. Pure functions: the
 * adapters hand them Buffers and get plain objects back.
 */
import { isIPv4 } from 'node:net';
import type { ConnectionEnds } from '../host/tcp-connections.ts';
import {
  CONFIG,
  CONN_KEY,
  COUNTERS,
  EVENT,
  HIST,
  HIST_SLOTS,
  INLINE_PIDS,
  OWNER,
  OWNER_KEY,
  PEER_KEY,
  STAGE_AGG,
  STAGES,
  type Stage,
} from './layout.ts';

const AF_INET = 2;
const AF_INET6 = 10;

export interface Owner {
  /** 32 hex digits, W3C trace-context form. */
  traceId: string;
  /** 16 hex digits. */
  spanId: string;
  /** The server side of its connection: received bytes belong to the next request. */
  server?: boolean;
}

/**
 * Numbers, not bigints: span ends read these for every request, and a double
 * holds ns exactly up to 2^53 (104 days of summed waits, or of uptime for
 * the CLOCK_MONOTONIC bounds; 2 ns steps after that).
 */
export interface StageAgg {
  sumNs: number;
  maxNs: number;
  count: number;
  bytes: number;
  /** CLOCK_MONOTONIC ns: start of the earliest occurrence, end of the latest; 0 when none was timed. */
  firstNs: number;
  lastNs: number;
}

export interface KernelEvent {
  stage: Stage;
  /** CLOCK_MONOTONIC at the end of the stage. */
  tsNs: bigint;
  durationNs: bigint;
  cookie: bigint;
  /** Empty when the socket had no owner. */
  traceId: string;
  spanId: string;
  tgid: number;
  bytes: number;
  seq: number;
  seqEnd: number;
  family: 'ipv4' | 'ipv6';
  saddr: string;
  daddr: string;
  sport: number;
  dport: number;
}

export interface KernelConfig {
  filter: number;
  eventSample: number;
  wakeupBytes: number;
  txMatchAtDevQueue: boolean;
  /** Bumped whenever the observed set changes, so sockets pass the filter again. */
  generation: number;
  /** Socket state in a hash map instead of socket storage, which kprobes cannot use. */
  stateInHash: boolean;
  /** An owner was written: until then the programs skip the shared-map lookup. */
  ownersUsed: boolean;
  /** A send call's device-queue stage is recorded once the driver took its last byte (see hooks.ts, sendEndsAtDriver). */
  sendEndsAtDriver: boolean;
  /** The pid set, compared in place by the kernel when it has at most INLINE_PIDS. */
  pids: readonly number[];
}

export type Counters = Record<'hits' | 'events' | 'eventDrops' | 'mapFull' | 'overflow' | 'late', bigint>;

const HEX = /^[0-9a-f]+$/;

function hexBytes(hex: string, length: number, what: string): Buffer {
  if (hex.length !== length * 2 || !HEX.test(hex)) throw new TypeError(`${what} must be ${length * 2} lowercase hex digits`);
  return Buffer.from(hex, 'hex');
}

function isZero(buf: Buffer): boolean {
  return buf.every((b) => b === 0);
}

export function encodeOwner(owner: Owner): Buffer {
  const buf = Buffer.alloc(OWNER.size);
  hexBytes(owner.traceId, 16, 'trace id').copy(buf, OWNER.fields.trace_id.offset);
  hexBytes(owner.spanId, 8, 'span id').copy(buf, OWNER.fields.span_id.offset);
  buf.writeUInt32LE(owner.server ? 1 : 0, OWNER.fields.flags.offset);
  return buf;
}

export function decodeOwner(buf: Buffer): Owner {
  return {
    traceId: buf.subarray(OWNER.fields.trace_id.offset, OWNER.fields.trace_id.offset + 16).toString('hex'),
    spanId: buf.subarray(OWNER.fields.span_id.offset, OWNER.fields.span_id.offset + 8).toString('hex'),
    server: (buf.readUInt32LE(OWNER.fields.flags.offset) & 1) === 1,
  };
}

export interface PeerStats {
  address: string;
  port: number;
  agg: StageAgg;
}

export function decodePeerKey(buf: Buffer): { address: string; port: number } {
  const f = PEER_KEY.fields;
  const family = buf.readUInt16LE(f.family.offset);
  return {
    address: address(buf.subarray(f.addr.offset, f.addr.offset + 16), family),
    port: buf.readUInt16LE(f.port.offset),
  };
}

/** A connection by its two ends, as wf_role_hints keys it. */
export function encodeConnKey(c: ConnectionEnds): Buffer {
  const f = CONN_KEY.fields;
  const buf = Buffer.alloc(CONN_KEY.size);
  c.localAddress.copy(buf, f.local_addr.offset);
  c.remoteAddress.copy(buf, f.remote_addr.offset);
  buf.writeUInt16LE(c.localPort, f.local_port.offset);
  buf.writeUInt16LE(c.remotePort, f.remote_port.offset);
  buf.writeUInt16LE(c.family === 4 ? AF_INET : AF_INET6, f.family.offset);
  return buf;
}

export function encodeOwnerKey(owner: Pick<Owner, 'traceId' | 'spanId'>): Buffer {
  const buf = Buffer.alloc(OWNER_KEY.size);
  hexBytes(owner.traceId, 16, 'trace id').copy(buf, OWNER_KEY.fields.trace_id.offset);
  hexBytes(owner.spanId, 8, 'span id').copy(buf, OWNER_KEY.fields.span_id.offset);
  return buf;
}

export function encodeU64(value: bigint): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64LE(value);
  return buf;
}

export function encodeU32(value: number): Buffer {
  const buf = Buffer.alloc(4);
  buf.writeUInt32LE(value);
  return buf;
}

export function encodeConfig(config: KernelConfig): Buffer {
  const buf = Buffer.alloc(CONFIG.size);
  buf.writeUInt32LE(config.filter, CONFIG.fields.filter.offset);
  buf.writeUInt32LE(config.eventSample, CONFIG.fields.event_sample.offset);
  buf.writeUInt32LE(config.wakeupBytes, CONFIG.fields.wakeup_bytes.offset);
  buf.writeUInt32LE(config.txMatchAtDevQueue ? 1 : 0, CONFIG.fields.tx_match_at_dev_queue.offset);
  buf.writeUInt32LE(config.generation, CONFIG.fields.generation.offset);
  buf.writeUInt32LE(config.stateInHash ? 1 : 0, CONFIG.fields.state_in_hash.offset);
  buf.writeUInt32LE(config.ownersUsed ? 1 : 0, CONFIG.fields.owners_used.offset);
  buf.writeUInt32LE(config.sendEndsAtDriver ? 1 : 0, CONFIG.fields.tx_at_driver.offset);
  buf.writeUInt32LE(config.pids.length, CONFIG.fields.npids.offset);
  if (config.pids.length <= INLINE_PIDS) {
    config.pids.forEach((pid, i) => buf.writeUInt32LE(pid, CONFIG.fields.pids.offset + 4 * i));
  }
  return buf;
}

/** Whether the config says a send call's device-queue stage ends when the driver took its last byte. */
export const configSendEndsAtDriver = (buf: Buffer): boolean => buf.readUInt32LE(CONFIG.fields.tx_at_driver.offset) !== 0;

/** A u64 as a number (exact below 2^53). */
export const readU64 = (buf: Buffer, offset: number): number => buf.readUInt32LE(offset) + buf.readUInt32LE(offset + 4) * 2 ** 32;

export function decodeStageAgg(buf: Buffer, offset = 0): StageAgg {
  const f = STAGE_AGG.fields;
  return {
    sumNs: readU64(buf, offset + f.sum_ns.offset),
    maxNs: readU64(buf, offset + f.max_ns.offset),
    count: readU64(buf, offset + f.count.offset),
    bytes: readU64(buf, offset + f.bytes.offset),
    firstNs: readU64(buf, offset + f.first_ns.offset),
    lastNs: readU64(buf, offset + f.last_ns.offset),
  };
}

export function decodeSpanStats(buf: Buffer): Record<Stage, StageAgg> {
  return Object.fromEntries(STAGES.map((stage, i) => [stage, decodeStageAgg(buf, i * STAGE_AGG.size)])) as Record<
    Stage,
    StageAgg
  >;
}

function address(buf: Buffer, family: number): string {
  if (family === AF_INET) return `${buf[0]}.${buf[1]}.${buf[2]}.${buf[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(i).toString(16));
  const mapped = groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff';
  if (mapped) {
    const v4 = `${buf[12]}.${buf[13]}.${buf[14]}.${buf[15]}`;
    if (isIPv4(v4)) return `::ffff:${v4}`;
  }
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

export function decodeEvent(buf: Buffer, offset: number): KernelEvent {
  const f = EVENT.fields;
  const at = (field: { offset: number; size: number }) =>
    buf.subarray(offset + field.offset, offset + field.offset + field.size);
  const family = buf.readUInt16LE(offset + f.family.offset);
  const stage = STAGES[buf.readUInt8(offset + f.stage.offset)];
  if (stage === undefined) throw new RangeError(`kernel event with unknown stage ${buf.readUInt8(offset + f.stage.offset)}`);
  const traceId = at(f.trace_id);
  const spanId = at(f.span_id);
  const owned = !(isZero(traceId) && isZero(spanId));
  return {
    stage,
    tsNs: buf.readBigUInt64LE(offset + f.ts_ns.offset),
    durationNs: buf.readBigUInt64LE(offset + f.duration_ns.offset),
    cookie: buf.readBigUInt64LE(offset + f.cookie.offset),
    traceId: owned ? traceId.toString('hex') : '',
    spanId: owned ? spanId.toString('hex') : '',
    tgid: buf.readUInt32LE(offset + f.tgid.offset),
    bytes: buf.readUInt32LE(offset + f.bytes.offset),
    seq: buf.readUInt32LE(offset + f.seq.offset),
    seqEnd: buf.readUInt32LE(offset + f.seq_end.offset),
    family: family === AF_INET ? 'ipv4' : 'ipv6',
    saddr: address(at(f.saddr), family),
    daddr: address(at(f.daddr), family),
    sport: buf.readUInt16LE(offset + f.sport.offset),
    dport: buf.readUInt16LE(offset + f.dport.offset),
  };
}

/** A batch from the ring buffer: whole records back to back. */
export function decodeEvents(batch: Buffer): KernelEvent[] {
  const out: KernelEvent[] = [];
  for (let off = 0; off + EVENT.size <= batch.length; off += EVENT.size) out.push(decodeEvent(batch, off));
  return out;
}

/** Per-CPU values come back as one buffer, each CPU's value 8-byte aligned. */
export function perCpuSlices(buf: Buffer, valueSize: number, cpus: number): Buffer[] {
  const stride = Math.ceil(valueSize / 8) * 8;
  return Array.from({ length: cpus }, (_, cpu) => buf.subarray(cpu * stride, cpu * stride + valueSize));
}

export function sumCounters(slices: Buffer[]): Counters {
  const f = COUNTERS.fields;
  const sum = (off: number) => slices.reduce((acc, s) => acc + s.readBigUInt64LE(off), 0n);
  return {
    hits: sum(f.hits.offset),
    events: sum(f.events.offset),
    eventDrops: sum(f.event_drops.offset),
    mapFull: sum(f.map_full.offset),
    overflow: sum(f.overflow.offset),
    late: sum(f.late.offset),
  };
}

export interface StageHistogram {
  /** Slot i counts durations in [2^(i-1), 2^i) ns; slot 0 counts zero. */
  slots: bigint[];
  sumNs: bigint;
}

export function sumHistograms(slices: Buffer[]): Record<Stage, StageHistogram> {
  const out = Object.fromEntries(
    STAGES.map((s) => [s, { slots: new Array<bigint>(HIST_SLOTS).fill(0n), sumNs: 0n }]),
  ) as Record<Stage, StageHistogram>;
  for (const slice of slices) {
    STAGES.forEach((stage, si) => {
      const h = out[stage];
      for (let i = 0; i < HIST_SLOTS; i++) h.slots[i] = (h.slots[i] ?? 0n) + slice.readBigUInt64LE((si * HIST_SLOTS + i) * 8);
      h.sumNs += slice.readBigUInt64LE(HIST.fields.sum_ns.offset + si * 8);
    });
  }
  return out;
}

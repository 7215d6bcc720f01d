/**
 * The TypeScript mirror of bpf/wireflame.h: constants and struct layouts.
 * test/layout.test.ts checks every offset and size here against the BTF of
 * the compiled object, and every constant against the header.
 */

export const STAGES = ['rx_queue', 'tx_first', 'tx_send', 'dev_queue', 'peer_wait'] as const;
export type Stage = (typeof STAGES)[number];

/** Same order as the WF_HOOK_* ids. */
export const HOOK_COUNTERS = [
  'tcp_sendmsg',
  'ip_out',
  'dev_queue',
  'dev_xmit',
  'rx_ready',
  'rx_read',
  'sock_close',
] as const;
export type HookCounter = (typeof HOOK_COUNTERS)[number];

export const HIST_SLOTS = 64;
export const INLINE_PIDS = 8;

export const FILTER = { all: 0, pid: 1, cgroup: 2 } as const;
export const OWNER_SERVER = 1;
/** Which end of a connection open before the probes the process is (wf_role_hints). */
export const ROLE = { client: 1, server: 2 } as const;

export type FieldType = 'u8' | 'u16' | 'u32' | 'u64' | 'bytes';
export interface Field {
  readonly offset: number;
  readonly type: FieldType;
  /** Byte length; for 'bytes' the array length. */
  readonly size: number;
}
export interface StructLayout {
  readonly name: string;
  readonly size: number;
  readonly fields: Readonly<Record<string, Field>>;
}

const u8 = (offset: number): Field => ({ offset, type: 'u8', size: 1 });
const u16 = (offset: number): Field => ({ offset, type: 'u16', size: 2 });
const u32 = (offset: number): Field => ({ offset, type: 'u32', size: 4 });
const u64 = (offset: number): Field => ({ offset, type: 'u64', size: 8 });
const bytes = (offset: number, size: number): Field => ({ offset, type: 'bytes', size });

export const OWNER = {
  name: 'wf_owner',
  size: 32,
  fields: { trace_id: bytes(0, 16), span_id: bytes(16, 8), flags: u32(24), reserved: u32(28) },
} as const satisfies StructLayout;

export const OWNER_KEY = {
  name: 'wf_owner_key',
  size: 24,
  fields: { trace_id: bytes(0, 16), span_id: bytes(16, 8) },
} as const satisfies StructLayout;

export const STAGE_AGG = {
  name: 'wf_stage_agg',
  size: 48,
  fields: { sum_ns: u64(0), max_ns: u64(8), count: u64(16), bytes: u64(24), first_ns: u64(32), last_ns: u64(40) },
} as const satisfies StructLayout;

export const SPAN_STATS = {
  name: 'wf_span_stats',
  size: STAGE_AGG.size * STAGES.length,
  fields: { stage: bytes(0, STAGE_AGG.size * STAGES.length) },
} as const satisfies StructLayout;

export const HIST = {
  name: 'wf_hist',
  size: 8 * HIST_SLOTS * STAGES.length + 8 * STAGES.length,
  fields: {
    slot: bytes(0, 8 * HIST_SLOTS * STAGES.length),
    sum_ns: bytes(8 * HIST_SLOTS * STAGES.length, 8 * STAGES.length),
  },
} as const satisfies StructLayout;

export const PEER_KEY = {
  name: 'wf_peer_key',
  size: 24,
  fields: { addr: bytes(0, 16), port: u16(16), family: u16(18), reserved: u32(20) },
} as const satisfies StructLayout;

export const CONN_KEY = {
  name: 'wf_conn_key',
  size: 40,
  fields: {
    local_addr: bytes(0, 16),
    remote_addr: bytes(16, 16),
    local_port: u16(32),
    remote_port: u16(34),
    family: u16(36),
    reserved: u16(38),
  },
} as const satisfies StructLayout;

export const COUNTERS = {
  name: 'wf_counters',
  size: 48,
  fields: { hits: u64(0), events: u64(8), event_drops: u64(16), map_full: u64(24), overflow: u64(32), late: u64(40) },
} as const satisfies StructLayout;

export const CONFIG = {
  name: 'wf_config',
  size: 68,
  fields: {
    filter: u32(0),
    event_sample: u32(4),
    wakeup_bytes: u32(8),
    tx_match_at_dev_queue: u32(12),
    generation: u32(16),
    state_in_hash: u32(20),
    owners_used: u32(24),
    tx_at_driver: u32(28),
    npids: u32(32),
    pids: bytes(36, 4 * INLINE_PIDS),
  },
} as const satisfies StructLayout;

export const EVENT = {
  name: 'wf_event',
  size: 104,
  fields: {
    ts_ns: u64(0),
    duration_ns: u64(8),
    cookie: u64(16),
    trace_id: bytes(24, 16),
    span_id: bytes(40, 8),
    tgid: u32(48),
    bytes: u32(52),
    seq: u32(56),
    seq_end: u32(60),
    saddr: bytes(64, 16),
    daddr: bytes(80, 16),
    sport: u16(96),
    dport: u16(98),
    family: u16(100),
    stage: u8(102),
    reserved: u8(103),
  },
} as const satisfies StructLayout;

export const SLOTS = 16384;

export const SLOT = {
  name: 'wf_slot',
  size: 368,
  fields: {
    cookie: u64(0),
    gen: u32(8),
    flags: u32(12),
    trace_id: bytes(16, 16),
    span_id: bytes(32, 8),
    stage_gen: bytes(40, 8 * STAGES.length),
    parked_rx: bytes(80, STAGE_AGG.size),
    stage: bytes(128, STAGE_AGG.size * STAGES.length),
  },
} as const satisfies StructLayout;

export const LAYOUTS: readonly StructLayout[] = [OWNER, OWNER_KEY, STAGE_AGG, SPAN_STATS, SLOT, HIST, PEER_KEY, CONN_KEY, COUNTERS, CONFIG, EVENT];

/**
 * W3C Trace Context: the traceparent header, and fresh ids. Ids come from a
 * pooled block of random bytes, one getrandom per 4 KiB instead of one per id:
 * a request needs two (its span, and its trace unless it arrived with one).
 */
import { randomFillSync } from 'node:crypto';

export interface TraceContext {
  traceId: string; // 32 lowercase hex digits, not all zero
  spanId: string; // 16 lowercase hex digits, not all zero
  sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** The parent context an incoming traceparent carries, or null when it is absent or invalid (then a new trace starts). */
export function parseTraceparent(header: string | undefined): TraceContext | null {
  if (!header) return null;
  // Lowercase only, as the spec writes it (and OpenTelemetry reads it).
  const m = TRACEPARENT.exec(header.trim());
  if (!m) return null;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined];
  // Version ff is invalid; version 00 has exactly four fields; later versions may add more.
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return null;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled ? '01' : '00'}`;
}

const POOL = Buffer.alloc(4096);
let offset = POOL.length;

const POOL_WORDS = new Uint32Array(POOL.buffer, POOL.byteOffset, POOL.length / 4);

function randomHex(bytes: number): string {
  for (;;) {
    if (offset + bytes > POOL.length) {
      randomFillSync(POOL);
      offset = 0;
    }
    const start = offset;
    offset += bytes;
    // All-zero ids are invalid; at 2^-64 odds, draw again rather than bias.
    // Ids are whole words, so the check reads words, not the hex.
    let any = 0;
    for (let w = start / 4; w < offset / 4; w++) any |= POOL_WORDS[w]!;
    if (any !== 0) return POOL.toString('hex', start, offset);
  }
}

export const newTraceId = (): string => randomHex(16);
export const newSpanId = (): string => randomHex(8);

/**
 * W3C Trace Context: the traceparent header, and fresh ids. Ids come from
 * Math.random, as OpenTelemetry JS's own generator takes them: ids must be
 * unique, not secret, and a request needs two (its span, and its trace
 * unless it arrived with one). Built in JavaScript from a byte table, they
 * cost about a fifth of Buffer's hex encoding of pooled random bytes.
 */

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

const HEX_BYTE = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** 8 hex digits of a random 32-bit word. */
function randomWord(): string {
  const w = (Math.random() * 0x1_0000_0000) >>> 0;
  return HEX_BYTE[w >>> 24]! + HEX_BYTE[(w >>> 16) & 0xff]! + HEX_BYTE[(w >>> 8) & 0xff]! + HEX_BYTE[w & 0xff]!;
}

function randomHex(words: number): string {
  for (;;) {
    let hex = '';
    for (let i = 0; i < words; i++) hex += randomWord();
    // All-zero ids are invalid; at 2^-64 odds, draw again rather than bias.
    if (hex !== ZERO_TRACE && hex !== ZERO_SPAN) return hex;
  }
}

export const newTraceId = (): string => randomHex(4);
export const newSpanId = (): string => randomHex(2);

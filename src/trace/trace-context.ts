/**
 * W3C Trace Context: the traceparent header, and fresh ids. Ids come from
 * Math.random, as OpenTelemetry JS's own generator takes them: ids must be
 * unique, not secret, and a request needs two (its span, and its trace
 * unless it arrived with one). Built in JavaScript from a digit table, they
 * cost about a third of Buffer's hex encoding of pooled random bytes.
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

const HEX = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

const randomWord = (): number => (Math.random() * 0x1_0000_0000) >>> 0;

/** 16 hex digits of two words, as one flat string (concatenating digits would build a rope, flattened at first read). */
function hex16(a: number, b: number): string {
  return String.fromCharCode(
    HEX[a >>> 28]!, HEX[(a >>> 24) & 15]!, HEX[(a >>> 20) & 15]!, HEX[(a >>> 16) & 15]!,
    HEX[(a >>> 12) & 15]!, HEX[(a >>> 8) & 15]!, HEX[(a >>> 4) & 15]!, HEX[a & 15]!,
    HEX[b >>> 28]!, HEX[(b >>> 24) & 15]!, HEX[(b >>> 20) & 15]!, HEX[(b >>> 16) & 15]!,
    HEX[(b >>> 12) & 15]!, HEX[(b >>> 8) & 15]!, HEX[(b >>> 4) & 15]!, HEX[b & 15]!,
  );
}

/** 32 hex digits of four words, flat: a concatenation of two halves would be a rope, flattened at first read. */
function hex32(a: number, b: number, c: number, d: number): string {
  return String.fromCharCode(
    HEX[a >>> 28]!, HEX[(a >>> 24) & 15]!, HEX[(a >>> 20) & 15]!, HEX[(a >>> 16) & 15]!,
    HEX[(a >>> 12) & 15]!, HEX[(a >>> 8) & 15]!, HEX[(a >>> 4) & 15]!, HEX[a & 15]!,
    HEX[b >>> 28]!, HEX[(b >>> 24) & 15]!, HEX[(b >>> 20) & 15]!, HEX[(b >>> 16) & 15]!,
    HEX[(b >>> 12) & 15]!, HEX[(b >>> 8) & 15]!, HEX[(b >>> 4) & 15]!, HEX[b & 15]!,
    HEX[c >>> 28]!, HEX[(c >>> 24) & 15]!, HEX[(c >>> 20) & 15]!, HEX[(c >>> 16) & 15]!,
    HEX[(c >>> 12) & 15]!, HEX[(c >>> 8) & 15]!, HEX[(c >>> 4) & 15]!, HEX[c & 15]!,
    HEX[d >>> 28]!, HEX[(d >>> 24) & 15]!, HEX[(d >>> 20) & 15]!, HEX[(d >>> 16) & 15]!,
    HEX[(d >>> 12) & 15]!, HEX[(d >>> 8) & 15]!, HEX[(d >>> 4) & 15]!, HEX[d & 15]!,
  );
}

/** A word's bytes the other way round: the first digit pair of a word's hex is its top byte, and it comes first in memory. */
const swap = (w: number): number => ((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >>> 8) & 0xff00) | (w >>> 24);

/** The ids made last, and the words of their bytes (see idWords). */
let madeTrace = '';
let madeSpan = '';
const MADE = new Uint32Array(6);

export function newTraceId(): string {
  for (;;) {
    const a = randomWord(), b = randomWord(), c = randomWord(), d = randomWord();
    // All-zero ids are invalid; at 2^-128 odds, draw again rather than bias.
    if ((a | b | c | d) !== 0) {
      madeTrace = hex32(a, b, c, d);
      MADE[0] = swap(a);
      MADE[1] = swap(b);
      MADE[2] = swap(c);
      MADE[3] = swap(d);
      return madeTrace;
    }
  }
}

export function newSpanId(): string {
  for (;;) {
    const a = randomWord(), b = randomWord();
    if ((a | b) !== 0) {
      madeSpan = hex16(a, b);
      MADE[4] = swap(a);
      MADE[5] = swap(b);
      return madeSpan;
    }
  }
}

/** A lowercase hex digit's value from its char code, without a table: '0'-'9' are 0x30-0x39, 'a'-'f' 0x61-0x66. */
const nibble = (c: number): number => (c & 15) + 9 * (c >> 6);

/** Eight hex digits from `at` as the little-endian word that holds the bytes they spell, in order. */
function hexWord(hex: string, at: number): number {
  return (
    ((nibble(hex.charCodeAt(at)) << 4) | nibble(hex.charCodeAt(at + 1))) |
    (((nibble(hex.charCodeAt(at + 2)) << 4) | nibble(hex.charCodeAt(at + 3))) << 8) |
    (((nibble(hex.charCodeAt(at + 4)) << 4) | nibble(hex.charCodeAt(at + 5))) << 16) |
    (((nibble(hex.charCodeAt(at + 6)) << 4) | nibble(hex.charCodeAt(at + 7))) << 24)
  );
}

/**
 * The bytes of a trace id and a span id as kernel memory holds them, in
 * little-endian words (as kernel memory is read throughout, see
 * kernel/codec.ts): the trace id's in words 0-3, the span id's in 4-5. A
 * request's ids go into kernel memory right after they are made, so the ids
 * made last keep their words; only ids from elsewhere (a traceparent) are
 * decoded, which cost most of an owner change (bench/request-path.ts).
 */
export function idWords(traceId: string, spanId: string, into: Uint32Array): void {
  if (traceId === madeTrace) {
    into[0] = MADE[0]!;
    into[1] = MADE[1]!;
    into[2] = MADE[2]!;
    into[3] = MADE[3]!;
  } else {
    for (let w = 0; w < 4; w++) into[w] = hexWord(traceId, w * 8);
  }
  if (spanId === madeSpan) {
    into[4] = MADE[4]!;
    into[5] = MADE[5]!;
  } else {
    into[4] = hexWord(spanId, 0);
    into[5] = hexWord(spanId, 8);
  }
}

/**
 * W3C Trace Context: the traceparent header, and fresh ids. Ids come from
 * the system's random source, 4096 words at a time: a request needs six
 * words (its span id, and its trace id unless it arrived with one), and
 * reading them from a pool costs less than half of drawing six from
 * Math.random, which OpenTelemetry JS uses. They are kept as words, which
 * is what kernel memory takes; their hex digits, built in JavaScript from a
 * digit table (a third of the cost of Buffer's hex encoding), are made only
 * for the spans that need them.
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

const pool = new Uint32Array(4096);
let drawn = pool.length;

function randomWord(): number {
  if (drawn === pool.length) {
    crypto.getRandomValues(pool);
    drawn = 0;
  }
  return pool[drawn++]!;
}

/**
 * 16 hex digits of two words, as one flat string (concatenating digits would
 * build a rope, flattened at first read). Each word's bytes come lowest
 * first, as memory holds them.
 */
function hex16(a: number, b: number): string {
  return String.fromCharCode(
    HEX[(a >>> 4) & 15]!, HEX[a & 15]!, HEX[(a >>> 12) & 15]!, HEX[(a >>> 8) & 15]!,
    HEX[(a >>> 20) & 15]!, HEX[(a >>> 16) & 15]!, HEX[a >>> 28]!, HEX[(a >>> 24) & 15]!,
    HEX[(b >>> 4) & 15]!, HEX[b & 15]!, HEX[(b >>> 12) & 15]!, HEX[(b >>> 8) & 15]!,
    HEX[(b >>> 20) & 15]!, HEX[(b >>> 16) & 15]!, HEX[b >>> 28]!, HEX[(b >>> 24) & 15]!,
  );
}

/** 32 hex digits of four words, flat and in memory order as hex16's. */
function hex32(a: number, b: number, c: number, d: number): string {
  return String.fromCharCode(
    HEX[(a >>> 4) & 15]!, HEX[a & 15]!, HEX[(a >>> 12) & 15]!, HEX[(a >>> 8) & 15]!,
    HEX[(a >>> 20) & 15]!, HEX[(a >>> 16) & 15]!, HEX[a >>> 28]!, HEX[(a >>> 24) & 15]!,
    HEX[(b >>> 4) & 15]!, HEX[b & 15]!, HEX[(b >>> 12) & 15]!, HEX[(b >>> 8) & 15]!,
    HEX[(b >>> 20) & 15]!, HEX[(b >>> 16) & 15]!, HEX[b >>> 28]!, HEX[(b >>> 24) & 15]!,
    HEX[(c >>> 4) & 15]!, HEX[c & 15]!, HEX[(c >>> 12) & 15]!, HEX[(c >>> 8) & 15]!,
    HEX[(c >>> 20) & 15]!, HEX[(c >>> 16) & 15]!, HEX[c >>> 28]!, HEX[(c >>> 24) & 15]!,
    HEX[(d >>> 4) & 15]!, HEX[d & 15]!, HEX[(d >>> 12) & 15]!, HEX[(d >>> 8) & 15]!,
    HEX[(d >>> 20) & 15]!, HEX[(d >>> 16) & 15]!, HEX[d >>> 28]!, HEX[(d >>> 24) & 15]!,
  );
}

/** A word's bytes the other way round: eight hex digits read as a number put their first byte on top. */
const swap = (w: number): number => (((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >>> 8) & 0xff00) | (w >>> 24)) >>> 0;

/** Eight hex digits from `at`, as the little-endian word their bytes make in memory. */
const hexWord = (hex: string, at: number): number => swap(Number.parseInt(hex.slice(at, at + 8), 16));

/**
 * A trace id as four random words, shared by the trace's spans. The words
 * are its bytes as kernel memory holds them (little-endian words, in
 * order), so that every request's owner is written to the kernel as it is,
 * and its hex is made only when first asked for: only exported spans and
 * outgoing calls need the digits.
 */
export class TraceId {
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
  private hex: string | undefined;

  constructor(w0: number, w1: number, w2: number, w3: number, hex?: string) {
    this.w0 = w0;
    this.w1 = w1;
    this.w2 = w2;
    this.w3 = w3;
    this.hex = hex;
  }

  static random(): TraceId {
    for (;;) {
      const a = randomWord(), b = randomWord(), c = randomWord(), d = randomWord();
      // All-zero ids are invalid; at 2^-128 odds, draw again rather than bias.
      if ((a | b | c | d) !== 0) return new TraceId(a, b, c, d);
    }
  }

  /** From 32 lowercase hex digits, as a valid traceparent carries them. */
  static fromHex(hex: string): TraceId {
    return new TraceId(hexWord(hex, 0), hexWord(hex, 8), hexWord(hex, 16), hexWord(hex, 24), hex);
  }

  toHex(): string {
    return (this.hex ??= hex32(this.w0, this.w1, this.w2, this.w3));
  }
}

/** A span id as two random words, in memory order as a trace id's; its hex, too, is made when first asked for. */
export class SpanId {
  readonly w0: number;
  readonly w1: number;
  private hex: string | undefined;

  constructor(w0: number, w1: number, hex?: string) {
    this.w0 = w0;
    this.w1 = w1;
    this.hex = hex;
  }

  static random(): SpanId {
    for (;;) {
      const a = randomWord(), b = randomWord();
      if ((a | b) !== 0) return new SpanId(a, b);
    }
  }

  /** From 16 lowercase hex digits. */
  static fromHex(hex: string): SpanId {
    return new SpanId(hexWord(hex, 0), hexWord(hex, 8), hex);
  }

  toHex(): string {
    return (this.hex ??= hex16(this.w0, this.w1));
  }
}

/** A fresh span id's hex, for spans made only for export. */
export const newSpanId = (): string => SpanId.random().toHex();

/** The words of a trace id's and a span id's bytes, as the slot table takes them: the trace id's in words 0-3, the span id's in 4-5. */
export function idWords(trace: TraceId, span: SpanId, into: Uint32Array): void {
  into[0] = trace.w0;
  into[1] = trace.w1;
  into[2] = trace.w2;
  into[3] = trace.w3;
  into[4] = span.w0;
  into[5] = span.w1;
}

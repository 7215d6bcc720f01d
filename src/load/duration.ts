/** "30s", "5m", "1h", "250ms", "1m30s" to milliseconds. */
import { UsageError } from '../cli/usage-error.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

export function parseDuration(text: string, flag = '--duration'): number {
  const trimmed = text.trim();
  let ms = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < trimmed.length) {
    const at = PART.lastIndex;
    const m = PART.exec(trimmed);
    if (!m || m.index !== at) throw new UsageError(`${flag}: '${text}' is not a duration (examples: 30s, 5m, 1m30s, 500ms)`);
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  if (trimmed.length === 0 || !Number.isFinite(ms)) throw new UsageError(`${flag}: '${text}' is not a duration (examples: 30s, 5m, 1m30s, 500ms)`);
  return Math.round(ms);
}

export function parsePositive(text: string, flag: string, { integer = false } = {}): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(n > 0) || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag}: '${text}' is not a positive ${integer ? 'whole ' : ''}number`);
  }
  return n;
}

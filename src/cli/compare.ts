/** `wireflame compare`: did NEW get worse than BASE, beyond the noise? Exit 1 when it did. */
import { readFileSync } from 'node:fs';
import { assertValidResult } from '../report/build-result.ts';
import { compareRuns, type MetricComparison } from '../report/compare.ts';
import type { RunResult } from '../report/result-schema.ts';
import { parsePositive } from '../load/duration.ts';
import { UsageError } from './usage-error.ts';

export interface CompareFlags {
  base: string[];
  new: string[];
  minChange: string;
  json?: boolean;
}

function readResult(file: string): RunResult {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new UsageError(code ? `cannot read ${file} (${code})` : `${file} is not JSON`);
  }
  try {
    assertValidResult(value);
  } catch (err) {
    throw new UsageError(`${file} is not a wireflame result: ${(err as Error).message.replace(/^result does not match its schema /, '')}`);
  }
  return value;
}

function table(rows: MetricComparison[]): string {
  const lines = [`${'metric'.padEnd(16)} ${'base'.padStart(12)} ${'new'.padStart(12)} ${'change'.padStart(9)}  finding`];
  for (const r of rows) {
    const delta = r.delta_pct === null ? 'n/a' : `${r.delta_pct > 0 ? '+' : ''}${r.delta_pct} %`;
    lines.push(`${r.metric.padEnd(16)} ${String(r.base).padStart(12)} ${String(r.new).padStart(12)} ${delta.padStart(9)}  ${r.finding}`);
  }
  lines.push(`noise judged by ${rows[0]?.test ?? 'n/a'}`);
  return lines.join('\n');
}

export function compare(flags: CompareFlags): number {
  if (flags.base.length === 0 || flags.new.length === 0) throw new UsageError('compare needs BASE and NEW results (compare BASE.json NEW.json)');
  const minChange = parsePositive(flags.minChange, '--min-change');
  const rows = compareRuns(flags.base.map(readResult), flags.new.map(readResult), minChange);
  process.stdout.write(`${flags.json ? JSON.stringify(rows, null, 2) : table(rows)}\n`);
  return rows.some((r) => r.finding === 'regression') ? 1 : 0;
}

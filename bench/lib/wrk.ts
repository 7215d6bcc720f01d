/** wrk as the reference load generator: one run, its requests per second. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function wrk(
  url: string,
  opts: { seconds: number; connections: number; threads?: number; cpu?: number },
): Promise<number> {
  const args = [`-t${opts.threads ?? 1}`, `-c${opts.connections}`, `-d${opts.seconds}s`, url];
  const { stdout } = opts.cpu === undefined ? await run('wrk', args) : await run('taskset', ['-c', String(opts.cpu), 'wrk', ...args]);
  const m = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  if (!m) throw new Error(`wrk printed no rate:\n${stdout}`);
  return Number(m[1]);
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

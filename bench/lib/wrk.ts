/** wrk as the reference load generator: one run, its requests per second and the CPU it took. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { busyNs } from './cpu.ts';

const run = promisify(execFile);

export async function wrk(
  url: string,
  opts: { seconds: number; connections: number; threads?: number; cpu?: number; script?: string },
): Promise<{ rps: number; cpuNsPerRequest: number }> {
  const busyBefore = busyNs();
  const args = [`-t${opts.threads ?? 1}`, `-c${opts.connections}`, `-d${opts.seconds}s`, ...(opts.script ? ['-s', opts.script] : []), url];
  const { stdout } = opts.cpu === undefined ? await run('wrk', args) : await run('taskset', ['-c', String(opts.cpu), 'wrk', ...args]);
  const busy = busyNs() - busyBefore;
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  const total = /(\d+) requests in/.exec(stdout);
  if (!rate || !total) throw new Error(`wrk printed no rate:\n${stdout}`);
  return { rps: Number(rate[1]), cpuNsPerRequest: busy / Number(total[1]) };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

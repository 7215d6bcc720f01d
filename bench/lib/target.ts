/** Starts a benchmark target in its own Node process and waits for its port. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** `cpu` pins the target, so that it and the load generator do not trade cores between runs. */
export async function startTarget(
  script: string,
  opts: { args?: string[]; cpu?: number; nodeArgs?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<{ child: ChildProcess; port: number }> {
  const path = fileURLToPath(new URL(`../fixtures/${script}`, import.meta.url));
  const argv = [process.execPath, ...(opts.nodeArgs ?? []), path, ...(opts.args ?? [])];
  const [cmd, ...rest] = opts.cpu === undefined ? argv : ['taskset', '-c', String(opts.cpu), ...argv];
  const child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...opts.env } });
  const [line] = (await once(child.stdout!.setEncoding('utf8'), 'data')) as [string];
  const port = Number(line.trim());
  if (!port) throw new Error(`target ${script} printed no port: ${line}`);
  return { child, port };
}

/** Runs fn against a fresh target pinned to CPU 1 and warmed up by wrk, then stops it. */
export async function withFreshTarget<T>(
  script: string,
  opts: { nodeArgs?: string[]; env?: NodeJS.ProcessEnv },
  warmUp: (url: string) => Promise<unknown>,
  fn: (url: string, pid: number) => Promise<T>,
): Promise<T> {
  const { child, port } = await startTarget(script, { cpu: 1, ...opts });
  try {
    const url = `http://127.0.0.1:${port}/`;
    await warmUp(url);
    return await fn(url, child.pid!);
  } finally {
    child.kill();
  }
}

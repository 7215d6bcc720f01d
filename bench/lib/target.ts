/** Starts a benchmark target in its own Node process and waits for its port. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export async function startTarget(script: string, args: string[] = []): Promise<{ child: ChildProcess; port: number }> {
  const path = fileURLToPath(new URL(`../fixtures/${script}`, import.meta.url));
  const child = spawn(process.execPath, [path, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!.setEncoding('utf8'), 'data')) as [string];
  const port = Number(line.trim());
  if (!port) throw new Error(`target ${script} printed no port: ${line}`);
  return { child, port };
}

/** Starts a test service under `node --import wireflame/register`, as a user would. */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopChild } from '../../src/load/backends/child.ts';
import { listeningPort } from '../../src/load/target/listening-port.ts';

export const NOBODY = { uid: 65534, gid: 65534 };

function othersCanReach(path: string): boolean {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o005) !== 0o005) return false;
    if (dir === '/') return true;
  }
}

/** Whether `nobody` can run the script with the project's Node (a checkout under a private home cannot be). */
export function nobodyCanRun(script: string): boolean {
  return othersCanReach(script) && othersCanReach(process.execPath);
}

export interface TracedService {
  url: string;
  pid: number;
  stderr: () => string;
  stop(): Promise<void>;
}

export function fixture(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

export async function startTracedService(script: string, env: NodeJS.ProcessEnv, options: { uid?: number; gid?: number } = {}): Promise<TracedService> {
  const child = spawn(process.execPath, ['--import', 'wireflame/register', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    ...options,
  });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const port = await listeningPort(child, 'service', () => err);
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stderr: () => err, stop: () => stopChild(child) };
}

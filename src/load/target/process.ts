/** Starts the embedded target as a child process and stops it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Backends } from './app.ts';

export interface TargetProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

const entry = fileURLToPath(new URL('./server.ts', import.meta.url));

export async function startEmbeddedTarget(backends: Backends = {}): Promise<TargetProcess> {
  const env = { ...process.env };
  if (backends.redisUrl) env.WIREFLAME_REDIS_URL = backends.redisUrl;
  if (backends.pgUrl) env.WIREFLAME_PG_URL = backends.pgUrl;
  const child: ChildProcess = spawn(process.execPath, [entry], { stdio: ['ignore', 'pipe', 'inherit'], env });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`embedded target exited with code ${code} before listening`);
  });
  const line = once(child.stdout!.setEncoding('utf8'), 'data').then(([chunk]) => String(chunk));
  const { port } = JSON.parse(await Promise.race([line, exited])) as { port: number };
  exited.catch(() => {});
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await once(child, 'exit');
      clearTimeout(timer);
    },
  };
}

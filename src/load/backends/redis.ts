/** A throw-away redis-server on a free port: no persistence, gone when stopped. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { BackendUnavailableError, stopChild, waitUntilReady, type Backend } from './child.ts';
import { freePort } from './free-port.ts';

const REDIS_SERVER = '/usr/bin/redis-server';

export async function startRedis(): Promise<Backend> {
  if (!existsSync(REDIS_SERVER)) {
    throw new BackendUnavailableError('redis-server is not installed: run npm run setup, or pass --redis-url');
  }
  const dir = mkdtempSync(join(tmpdir(), 'wireflame-redis-'));
  const port = await freePort();
  const child = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const url = `redis://127.0.0.1:${port}`;
  const stop = async () => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(child, 'redis-server', async () => {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => {}); // the failed attempt is reported by connect()
      try {
        await probe.connect();
        await probe.ping();
      } finally {
        probe.disconnect();
      }
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, pid: child.pid!, stop };
}

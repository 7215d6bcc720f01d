/** Starts the embedded target as a child process and stops it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stopChild } from '../backends/child.ts';
import type { Backends } from './app.ts';
import { listeningPort } from './listening-port.ts';
import { formatResourceAttributes } from '../../host/otel-resource.ts';

export interface TargetProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

const entry = fileURLToPath(new URL('./server.ts', import.meta.url));
const register = new URL('../../trace/register.ts', import.meta.url).href;

/** How the target is traced: it runs under the register entry, as a user's service would. */
export interface TargetTracing {
  /** The run's pinned shared maps; undefined: kernel stages off. */
  pinDir?: string;
  /** Where its spans go; undefined: not exported. */
  otlpEndpoint?: string;
  /** Where its fused profile goes when it stops; undefined: not profiled. */
  profileDir?: string;
  /** Resource attributes of its spans (the machine: host and cloud). */
  resource?: Record<string, string>;
  /** Told the pid at once, before the target opens its backend connections (so the kernel sees them from their first byte). */
  onSpawn?: (pid: number) => void;
}

export async function startEmbeddedTarget(backends: Backends = {}, tracing: TargetTracing = {}): Promise<TargetProcess> {
  const env: NodeJS.ProcessEnv = {
    OTEL_SERVICE_NAME: 'wireflame-target',
    ...process.env,
    WIREFLAME_KERNEL: tracing.pinDir ? 'agent' : 'off',
  };
  if (tracing.pinDir) env.WIREFLAME_PIN_DIR = tracing.pinDir;
  if (tracing.otlpEndpoint) env.WIREFLAME_OTLP_ENDPOINT = tracing.otlpEndpoint;
  if (tracing.profileDir) env.WIREFLAME_PROFILE_DIR = tracing.profileDir;
  if (tracing.resource) {
    const ours = formatResourceAttributes(tracing.resource);
    env.OTEL_RESOURCE_ATTRIBUTES = env.OTEL_RESOURCE_ATTRIBUTES ? `${env.OTEL_RESOURCE_ATTRIBUTES},${ours}` : ours;
  }
  if (backends.redisUrl) env.WIREFLAME_REDIS_URL = backends.redisUrl;
  if (backends.pgUrl) env.WIREFLAME_PG_URL = backends.pgUrl;
  const child: ChildProcess = spawn(process.execPath, ['--import', register, entry], { stdio: ['ignore', 'pipe', 'inherit'], env });
  if (child.pid) tracing.onSpawn?.(child.pid);
  const port = await listeningPort(child, 'embedded target');
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => stopChild(child) };
}

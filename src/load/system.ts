/**
 * The system a run drives: the backends the scenario needs (throw-away
 * servers unless URLs are given), the embedded target unless --target is
 * given, and which processes the kernel should watch.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { UsageError } from '../cli/usage-error.ts';
import { processTree } from '../host/processes.ts';
import type { Backend } from './backends/child.ts';
import { startPostgres } from './backends/postgres.ts';
import { startRedis } from './backends/redis.ts';
import type { ScenarioContext, ScenarioNeeds } from './scenario.ts';
import { startEmbeddedTarget, type TargetProcess, type TargetTracing } from './target/process.ts';

export interface SystemPlan {
  needs: ScenarioNeeds;
  targetUrl: string | null;
  targetPid: number | null;
  redisUrl: string | null;
  pgUrl: string | null;
  /** How the embedded target is traced. */
  tracing?: TargetTracing;
}

/** Whether the plan starts the embedded target (the scenario drives HTTP and no --target was given). */
export function startsEmbeddedTarget(plan: Pick<SystemPlan, 'needs' | 'targetUrl'>): boolean {
  return plan.needs.target && !plan.targetUrl;
}

export interface RunningSystem {
  context: Omit<ScenarioContext, 'connections'>;
  embeddedTarget: boolean;
  /** The processes serving the load now (call again once connections are open: servers fork). */
  observed(): number[];
  /** Why nothing can be observed, when that is so. */
  unobservable: string | null;
  /** The backends by "address:port", to name the peers the kernel sees. */
  services: Map<string, string>;
  stop(): Promise<void>;
}

async function assertRedis(url: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 3000 });
  // connect() only says the connection closed; the 'error' event says why.
  let cause: unknown;
  client.on('error', (err) => (cause ??= err));
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    const why = (cause ?? err) as { code?: string; message?: string };
    throw new UsageError(`--redis-url: Redis at ${url} is unreachable (${why.code ?? why.message})`);
  } finally {
    client.disconnect();
  }
}

async function assertPostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
  } catch (err) {
    throw new UsageError(`--pg-url: PostgreSQL at ${url} is unreachable (${(err as { code?: string }).code ?? (err as Error).message})`);
  } finally {
    await client.end().catch(() => {});
  }
}

function serviceNames(urls: Record<string, string | undefined>): Map<string, string> {
  const names = new Map<string, string>();
  for (const [service, url] of Object.entries(urls)) {
    if (!url) continue;
    const u = new URL(url);
    const port = u.port || (service === 'redis' ? '6379' : '5432');
    names.set(`${u.hostname === 'localhost' ? '127.0.0.1' : u.hostname}:${port}`, service);
  }
  return names;
}

export async function startSystem(plan: SystemPlan): Promise<RunningSystem> {
  const started: { stop(): Promise<void> }[] = [];
  const stop = async () => {
    for (const s of started.reverse()) await s.stop();
  };
  try {
    let redis: Backend | null = null;
    let postgres: Backend | null = null;
    // With --target, the user's service brings its own backends.
    const embedded = startsEmbeddedTarget(plan);
    if (plan.needs.redis && (embedded || !plan.needs.target)) {
      if (plan.redisUrl) await assertRedis(plan.redisUrl);
      else started.push((redis = await startRedis()));
    }
    if (plan.needs.pg && (embedded || !plan.needs.target)) {
      if (plan.pgUrl) await assertPostgres(plan.pgUrl);
      else started.push((postgres = await startPostgres()));
    }
    const redisUrl = plan.redisUrl ?? redis?.url;
    const pgUrl = plan.pgUrl ?? postgres?.url;
    let target: TargetProcess | null = null;
    if (embedded) started.push((target = await startEmbeddedTarget({ redisUrl, pgUrl }, plan.tracing)));

    // The service under load: the target when there is one, else the backend the scenario drives.
    const roots = plan.needs.target
      ? [target?.pid ?? plan.targetPid].filter((p): p is number => typeof p === 'number')
      : [redis?.pid, postgres?.pid].filter((p): p is number => typeof p === 'number');
    const unobservable =
      roots.length > 0
        ? null
        : plan.needs.target
          ? 'kernel stages off: the target is external (pass --target-pid to observe it)'
          : 'kernel stages off: the backend is external (its process is not on this machine to observe)';
    return {
      context: { targetUrl: plan.targetUrl ?? target?.url, redisUrl, pgUrl },
      embeddedTarget: target !== null,
      // A target started Wireflame (a test, a script): its tree holds us, and what we started.
      observed: () => roots.flatMap((pid) => processTree(pid, new Set([process.pid]))),
      unobservable,
      services: serviceNames({ redis: redisUrl, postgresql: pgUrl }),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

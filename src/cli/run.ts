/**
 * `wireflame run`: drive a service under load while the agent watches, then
 * write result.json and say how it went. Ctrl-C stops the run early: the
 * partial result is still written, probes are detached and the embedded
 * target is stopped.
 */
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { discoverCloud } from '../host/cloud.ts';
import { assertPushgatewayReady, pushRun } from '../metrics/pushgateway.ts';
import { runRegistry } from '../metrics/run-metrics.ts';
import { describeHost } from '../host/host.ts';
import { kernelOff, observeKernel, type KernelObserver } from '../kernel/observer.ts';
import { parseDuration, parsePositive } from '../load/duration.ts';
import { runLoad, type Pacing } from '../load/generator.ts';
import { findScenario } from '../load/scenarios/index.ts';
import { startSystem, type RunningSystem } from '../load/system.ts';
import { buildResult } from '../report/build-result.ts';
import type { RunResult } from '../report/result-schema.ts';
import { progressLine } from './progress.ts';
import { UsageError } from './usage-error.ts';

export interface RunFlags {
  scenario: string;
  duration: string;
  warmup: string;
  rate?: string;
  connections?: string;
  out?: string;
  target?: string;
  targetPid?: string;
  redisUrl?: string;
  pgUrl?: string;
  exporter?: string;
  pushgateway?: string;
  json?: boolean;
}

export const DEFAULT_RATE = 1000;
const DEFAULT_OPEN_CONNECTIONS = 64;

interface RunPlan {
  scenario: ReturnType<typeof findScenario>;
  durationMs: number;
  warmupMs: number;
  pacing: Pacing;
  connections: number;
  outDir: string;
  targetUrl: string | null;
  targetPid: number | null;
  redisUrl: string | null;
  pgUrl: string | null;
  pushgateway: string | null;
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** Every flag checked before anything starts: bad input costs nothing. */
export function planRun(flags: RunFlags, now = new Date()): RunPlan {
  const scenario = findScenario(flags.scenario);
  const durationMs = parseDuration(flags.duration, '--duration');
  const warmupMs = flags.warmup === '0' ? 0 : parseDuration(flags.warmup, '--warmup');
  const connections = flags.connections ? parsePositive(flags.connections, '--connections', { integer: true }) : null;
  const rate = flags.rate ? parsePositive(flags.rate, '--rate') : null;
  const pacing: Pacing =
    connections !== null && rate === null
      ? { kind: 'connections', count: connections }
      : { kind: 'rate', perSecond: rate ?? DEFAULT_RATE };
  let targetUrl: string | null = null;
  if (flags.target) {
    let url: URL;
    try {
      url = new URL(flags.target);
    } catch {
      throw new UsageError(`--target: '${flags.target}' is not a URL (example: http://127.0.0.1:8080)`);
    }
    if (url.protocol !== 'http:') throw new UsageError(`--target: only http:// targets are supported, not ${url.protocol}`);
    targetUrl = url.origin;
  }
  const targetPid = flags.targetPid ? parsePositive(flags.targetPid, '--target-pid', { integer: true }) : null;
  if (targetPid !== null && !targetUrl) throw new UsageError('--target-pid goes with --target');
  if (targetUrl && !scenario.needs.target) throw new UsageError(`--target: scenario ${scenario.name} drives no HTTP service`);
  if (flags.exporter !== undefined && flags.exporter !== 'prometheus') {
    throw new UsageError(`--exporter: unknown exporter '${flags.exporter}' (known: prometheus)`);
  }
  if (flags.exporter && !flags.pushgateway) throw new UsageError('--exporter prometheus needs --pushgateway URL');
  if (flags.pushgateway && !flags.exporter) throw new UsageError('--pushgateway goes with --exporter prometheus');
  return {
    scenario,
    durationMs,
    warmupMs,
    pacing,
    connections: connections ?? DEFAULT_OPEN_CONNECTIONS,
    outDir: resolve(flags.out ?? join('runs', `${timestamp(now)}-${scenario.name}`)),
    targetUrl,
    targetPid,
    redisUrl: flags.redisUrl ? backendUrl(flags.redisUrl, '--redis-url', ['redis:']) : null,
    pgUrl: flags.pgUrl ? backendUrl(flags.pgUrl, '--pg-url', ['postgres:', 'postgresql:']) : null,
    pushgateway: flags.pushgateway ? backendUrl(flags.pushgateway, '--pushgateway', ['http:', 'https:']) : null,
  };
}

function backendUrl(text: string, flag: string, protocols: string[]): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${flag}: '${text}' is not a URL (example: ${protocols[0]}//127.0.0.1:${flag === '--pg-url' ? 5432 : 6379})`);
  }
  if (!protocols.includes(url.protocol)) throw new UsageError(`${flag}: expected ${protocols.join(' or ')}//..., not ${url.protocol}`);
  return text;
}

function ensureWritable(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error';
    throw new UsageError(`--out: cannot write to ${dir} (${code})`);
  }
}

async function assertReachable(url: string): Promise<void> {
  try {
    const res = await request(url, { method: 'GET', headersTimeout: 3000, bodyTimeout: 3000 });
    await res.body.dump();
  } catch (err) {
    const code = (err as { code?: string }).code ?? (err as Error).message;
    throw new UsageError(`target ${url} is unreachable (${code})`);
  }
}

function report(result: RunResult, file: string): string {
  const lines = [
    `${result.scenario}${result.partial ? ' (partial: interrupted)' : ''}: ${result.duration_sec} s, ` +
      `${result.tps_avg} req/s, ${result.requests_total} requests, ${result.errors_total} errors (${result.error_rate_pct} %)`,
    `latency ms  p50 ${result.latency_p50_ms}  p95 ${result.latency_p95_ms}  p99 ${result.latency_p99_ms}  ` +
      `p99.9 ${result.latency_p999_ms}  max ${result.latency_max_ms}`,
  ];
  if (result.kernel.available) {
    for (const [stage, s] of Object.entries(result.kernel.stages)) {
      lines.push(`kernel ${stage.padEnd(9)} ${String(s.count).padStart(8)} waits  total ${s.total_ms} ms  p99 <= ${s.p99_us} us`);
    }
    for (const p of result.kernel.peers) {
      lines.push(`backend ${p.service ?? 'peer'} ${p.address}:${p.port}  ${p.count} answers  total ${p.total_ms} ms  mean ${p.mean_ms} ms`);
    }
  } else {
    lines.push(result.kernel.reason ?? 'kernel stages off');
  }
  if (result.generator.saturated) lines.push(`warning: the load generator saturated (${result.generator.cpu_pct} % CPU)`);
  lines.push(`verdict: ${result.verdict.status}: ${result.verdict.summary}`);
  for (const c of result.verdict.causes) lines.push(`  ${c.share_pct} %  ${c.cause}: ${c.evidence}`);
  lines.push(`result: ${file}`);
  return lines.join('\n');
}

export async function run(flags: RunFlags): Promise<number> {
  const plan = planRun(flags);
  ensureWritable(plan.outDir);
  if (plan.targetUrl) await assertReachable(plan.targetUrl);
  if (plan.pushgateway) await assertPushgatewayReady(plan.pushgateway);

  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write('\nwireflame: interrupted, writing the partial result (Ctrl-C again to quit at once)\n');
    abort.abort();
  };
  process.on('SIGINT', onSigint);

  let system: RunningSystem | undefined;
  let kernel: KernelObserver | undefined;
  const hostInfo = describeHost();
  const cloudInfo = discoverCloud();
  try {
    system = await startSystem({ needs: plan.scenario.needs, ...plan });
    kernel = system.unobservable ? kernelOff(system.unobservable) : observeKernel(system.observed(), system.services);
    if (kernel.unavailable && !flags.json) process.stderr.write(`wireflame: ${kernel.unavailable}\n`);

    const session = await plan.scenario.open({ ...system.context, connections: plan.connections });
    // Servers fork a worker per connection (PostgreSQL), and pools open connections lazily.
    const watchForks = setInterval(() => kernel?.add(system!.observed()), 1000);
    kernel.add(system.observed());
    const progress = progressLine(process.stderr, plan.warmupMs + plan.durationMs);
    const startedAt = new Date();
    const load = await runLoad({
      operation: session.operation,
      pacing: plan.pacing,
      durationMs: plan.durationMs,
      warmupMs: plan.warmupMs,
      signal: abort.signal,
      onProgress: progress ? (p) => progress.update(p) : undefined,
      onMeasureStart: () => kernel?.mark(),
    });
    progress?.done();
    clearInterval(watchForks);
    const endedAt = new Date();
    await session.close();
    const kernelResult = kernel.finish();

    const result = buildResult({
      scenario: plan.scenario.name,
      startedAt,
      endedAt,
      target: {
        url: system.context.targetUrl ?? system.context.redisUrl ?? system.context.pgUrl ?? '',
        embedded: system.embeddedTarget,
      },
      pacing: {
        mode: plan.pacing.kind === 'rate' ? 'open' : 'closed',
        rate: plan.pacing.kind === 'rate' ? plan.pacing.perSecond : null,
        connections: plan.pacing.kind === 'rate' ? plan.connections : plan.pacing.count,
      },
      warmupMs: plan.warmupMs,
      load,
      kernel: kernelResult,
      host: await hostInfo,
      cloud: await cloudInfo,
    });
    const file = join(plan.outDir, 'result.json');
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : `${report(result, file)}\n`);
    if (plan.pushgateway) {
      try {
        await pushRun(plan.pushgateway, runRegistry(result, load.latency), result.scenario);
      } catch (err) {
        process.stderr.write(`wireflame: the result is written, but pushing it to ${plan.pushgateway} failed (${(err as Error).message})\n`);
        return 1;
      }
    }
    return result.partial ? 130 : 0;
  } finally {
    process.off('SIGINT', onSigint);
    kernel?.finish();
    await system?.stop();
  }
}

/**
 * `wireflame run`: drive a service under load while the agent watches, then
 * write result.json and say how it went. Ctrl-C stops the run early: the
 * partial result is still written, probes are detached and the embedded
 * target is stopped.
 */
import { accessSync, constants, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { discoverCloud } from '../host/cloud.ts';
import { assertPushgatewayReady, pushRun } from '../metrics/pushgateway.ts';
import { runRegistry } from '../metrics/run-metrics.ts';
import { describeHost } from '../host/host.ts';
import { kernelOff, observeKernel, type KernelObserver } from '../kernel/observer.ts';
import { runLoad } from '../load/generator.ts';
import { startSystem, startsEmbeddedTarget, type RunningSystem } from '../load/system.ts';
import { BPFFS } from '../kernel/environment.ts';
import { readProfileSummary } from '../profile/profile-summary.ts';
import { assertTargetProfiles, dumpTargetProfile } from './target-profile.ts';
import { resourceAttributes } from '../host/otel-resource.ts';
import { buildResult } from '../report/build-result.ts';
import { progressLine } from './progress.ts';
import { planRun, type RunFlags } from './run-plan.ts';
import { summarize } from './run-summary.ts';
import { UsageError } from './usage-error.ts';

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

export async function run(flags: RunFlags): Promise<number> {
  const plan = planRun(flags);
  ensureWritable(plan.outDir);
  if (plan.targetUrl) await assertReachable(plan.targetUrl);
  if (plan.pushgateway) await assertPushgatewayReady(plan.pushgateway);
  if (plan.targetProfileDir && plan.targetPid !== null) assertTargetProfiles(plan.targetPid, plan.targetProfileDir);

  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write('\nwireflame: interrupted, writing the partial result (Ctrl-C again to quit at once)\n');
    abort.abort();
  };
  process.on('SIGINT', onSigint);

  let system: RunningSystem | undefined;
  let kernel: KernelObserver | undefined;
  let hostInfo: ReturnType<typeof describeHost> | undefined;
  let cloudInfo: ReturnType<typeof discoverCloud> | undefined;
  try {
    const systemPlan = { needs: plan.scenario.needs, ...plan };
    // The embedded target attributes kernel time to its requests through the
    // run's maps, so they exist, pinned, before it starts.
    const shareDir = `${BPFFS}/wireflame-run-${process.pid}`;
    if (startsEmbeddedTarget(systemPlan)) kernel = observeKernel([], { shareDir });
    const pinDir = kernel && !kernel.unavailable ? shareDir : undefined;
    // Started after the programs load: loading blocks the event loop, and
    // the discovery's deadline would pass while its answers wait unread.
    hostInfo = describeHost();
    cloudInfo = discoverCloud();
    // The target's spans name the machine they ran on.
    const resource = plan.otlpEndpoint ? resourceAttributes(await hostInfo, await cloudInfo) : undefined;
    system = await startSystem({
      ...systemPlan,
      tracing: {
        resource,
        pinDir,
        otlpEndpoint: plan.otlpEndpoint ?? undefined,
        profileDir: plan.profile ? plan.outDir : undefined,
        onSpawn: (pid) => kernel?.add([pid]),
      },
    });
    kernel ??= system.unobservable ? kernelOff(system.unobservable) : observeKernel(system.observed());
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
    const kernelResult = kernel.finish(system.services);
    // The embedded target writes its profile as it stops.
    const running = system;
    system = undefined;
    await running.stop();
    const profile = plan.profile
      ? readProfileSummary(plan.outDir)
      : plan.targetProfileDir && plan.targetPid !== null
        ? await dumpTargetProfile(plan.targetPid, plan.targetProfileDir)
        : null;

    const result = buildResult({
      scenario: plan.scenario.name,
      startedAt,
      endedAt,
      target: {
        url: running.context.targetUrl ?? running.context.redisUrl ?? running.context.pgUrl ?? '',
        embedded: running.embeddedTarget,
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
      profile,
    });
    const file = join(plan.outDir, 'result.json');
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : `${summarize(result, file)}\n`);
    const flame = join(plan.outDir, 'flame.html');
    if (!flags.json && plan.profile && existsSync(flame)) process.stdout.write(`flame graph: ${flame} (pprof: ${join(plan.outDir, 'profile.pb.gz')})\n`);
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

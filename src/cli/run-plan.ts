/**
 * The flags of `wireflame run`, checked and turned into a plan before
 * anything starts: bad input costs nothing and says so in one line.
 */
import { join, resolve } from 'node:path';
import { parseDuration, parsePositive } from '../load/duration.ts';
import type { Pacing } from '../load/generator.ts';
import { findScenario } from '../load/scenarios/index.ts';
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
  otlpEndpoint?: string;
  /** false with --no-profile. */
  profile?: boolean;
  targetProfile?: string;
  json?: boolean;
}

export const DEFAULT_RATE = 1000;
const DEFAULT_OPEN_CONNECTIONS = 64;

export interface RunPlan {
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
  /** Where the embedded target's spans go. */
  otlpEndpoint: string | null;
  /** Whether the embedded target is profiled (its fused profile goes to outDir). */
  profile: boolean;
  /** With --target: the WIREFLAME_PROFILE_DIR of the target, whose profile is asked for at the end. */
  targetProfileDir: string | null;
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

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
    // The path matters to http-get; the other scenarios take the origin.
    targetUrl = url.pathname === '/' && !url.search ? url.origin : url.href;
  }
  const targetPid = flags.targetPid ? parsePositive(flags.targetPid, '--target-pid', { integer: true }) : null;
  if (targetPid !== null && !targetUrl) throw new UsageError('--target-pid goes with --target');
  if (targetUrl && !scenario.needs.target) throw new UsageError(`--target: scenario ${scenario.name} drives no HTTP service`);
  if (flags.exporter !== undefined && flags.exporter !== 'prometheus') {
    throw new UsageError(`--exporter: unknown exporter '${flags.exporter}' (known: prometheus)`);
  }
  if (flags.exporter && !flags.pushgateway) throw new UsageError('--exporter prometheus needs --pushgateway URL');
  if (flags.pushgateway && !flags.exporter) throw new UsageError('--pushgateway goes with --exporter prometheus');
  if (flags.targetProfile && targetPid === null) throw new UsageError('--target-profile goes with --target and --target-pid');
  if (flags.otlpEndpoint && targetUrl) throw new UsageError('--otlp-endpoint: only the embedded target is traced by the run; trace your own service with node --import wireflame/register');
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
    otlpEndpoint: flags.otlpEndpoint ? backendUrl(flags.otlpEndpoint, '--otlp-endpoint', ['http:', 'https:']) : null,
    profile: flags.profile !== false && scenario.needs.target && !targetUrl,
    targetProfileDir: flags.targetProfile ? resolve(flags.targetProfile) : null,
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

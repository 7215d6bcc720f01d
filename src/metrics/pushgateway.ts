/**
 * Pushing a run to a Prometheus Pushgateway. Each run replaces its group
 * (job "wireflame", instance = host name, scenario), which the Pushgateway
 * keeps until the next run of the same group replaces it, so that Prometheus
 * scrapes the last result of every scenario on every host.
 */
import { hostname } from 'node:os';
import { Pushgateway, type Registry } from 'prom-client';
import { request } from 'undici';
import { UsageError } from '../cli/usage-error.ts';

export const JOB = 'wireflame';

export function grouping(scenario: string): Record<string, string> {
  return { instance: hostname(), scenario };
}

/** Checked before a run, so that a wrong URL costs no run. */
export async function assertPushgatewayReady(url: string): Promise<void> {
  try {
    const res = await request(new URL('/-/ready', url), { headersTimeout: 3000, bodyTimeout: 3000 });
    await res.body.dump();
    if (res.statusCode !== 200) throw Object.assign(new Error(`HTTP ${res.statusCode}`), { code: `HTTP ${res.statusCode}` });
  } catch (err) {
    throw new UsageError(`--pushgateway: ${url} is not a ready Pushgateway (${(err as { code?: string }).code ?? (err as Error).message})`);
  }
}

export async function pushRun(url: string, registry: Registry, scenario: string): Promise<void> {
  const gateway = new Pushgateway(url, { timeout: 5000 }, registry);
  await gateway.push({ jobName: JOB, groupings: grouping(scenario) });
}

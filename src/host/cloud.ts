/**
 * Which cloud instance this is, from the instance metadata services: AWS
 * (IMDSv2, with its session token), Azure IMDS and the GCP metadata server,
 * asked in parallel with short timeouts. Endpoints can be overridden (and
 * discovery turned off) through the environment:
 *   WIREFLAME_CLOUD=off
 *   WIREFLAME_AWS_IMDS_ENDPOINT, WIREFLAME_AZURE_IMDS_ENDPOINT, WIREFLAME_GCP_METADATA_ENDPOINT
 */
import { request } from 'undici';

export interface CloudInfo {
  provider: 'aws' | 'azure' | 'gcp' | 'none';
  region?: string;
  zone?: string;
  instance_type?: string;
  instance_id?: string;
}

export interface CloudEndpoints {
  aws: string;
  azure: string;
  gcp: string;
}

export const DEFAULT_ENDPOINTS: CloudEndpoints = {
  aws: 'http://169.254.169.254',
  azure: 'http://169.254.169.254',
  gcp: 'http://metadata.google.internal',
};

export function endpointsFromEnv(env: NodeJS.ProcessEnv = process.env): CloudEndpoints | null {
  if (env.WIREFLAME_CLOUD === 'off') return null;
  return {
    aws: env.WIREFLAME_AWS_IMDS_ENDPOINT ?? DEFAULT_ENDPOINTS.aws,
    azure: env.WIREFLAME_AZURE_IMDS_ENDPOINT ?? DEFAULT_ENDPOINTS.azure,
    gcp: env.WIREFLAME_GCP_METADATA_ENDPOINT ?? DEFAULT_ENDPOINTS.gcp,
  };
}

async function fetchText(url: string, init: { method?: 'GET' | 'PUT'; headers: Record<string, string> }, timeoutMs: number): Promise<string> {
  const res = await request(url, {
    method: init.method ?? 'GET',
    headers: init.headers,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${url}: HTTP ${res.statusCode}`);
  return text;
}

async function aws(base: string, timeoutMs: number): Promise<CloudInfo> {
  const token = await fetchText(`${base}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' } }, timeoutMs);
  const doc = JSON.parse(
    await fetchText(`${base}/latest/dynamic/instance-identity/document`, { headers: { 'x-aws-ec2-metadata-token': token } }, timeoutMs),
  ) as { region?: string; availabilityZone?: string; instanceType?: string; instanceId?: string };
  return { provider: 'aws', region: doc.region, zone: doc.availabilityZone, instance_type: doc.instanceType, instance_id: doc.instanceId };
}

async function azure(base: string, timeoutMs: number): Promise<CloudInfo> {
  const doc = JSON.parse(await fetchText(`${base}/metadata/instance?api-version=2021-02-01`, { headers: { metadata: 'true' } }, timeoutMs)) as {
    compute?: { location?: string; zone?: string; vmSize?: string; vmId?: string };
  };
  if (!doc.compute) throw new Error('not Azure IMDS');
  return { provider: 'azure', region: doc.compute.location, zone: doc.compute.zone || undefined, instance_type: doc.compute.vmSize, instance_id: doc.compute.vmId };
}

async function gcp(base: string, timeoutMs: number): Promise<CloudInfo> {
  const doc = JSON.parse(
    await fetchText(`${base}/computeMetadata/v1/instance/?recursive=true`, { headers: { 'metadata-flavor': 'Google' } }, timeoutMs),
  ) as { zone?: string; machineType?: string; id?: number | string };
  const last = (path?: string) => path?.split('/').pop();
  const zone = last(doc.zone);
  return { provider: 'gcp', zone, region: zone?.replace(/-[a-z]$/, ''), instance_type: last(doc.machineType), instance_id: doc.id === undefined ? undefined : String(doc.id) };
}

/** The first metadata service that answers, or provider 'none'. Never throws. */
export async function discoverCloud(endpoints: CloudEndpoints | null = endpointsFromEnv(), timeoutMs = 300): Promise<CloudInfo> {
  if (!endpoints) return { provider: 'none' };
  try {
    const found = await Promise.any([aws(endpoints.aws, timeoutMs), azure(endpoints.azure, timeoutMs), gcp(endpoints.gcp, timeoutMs)]);
    return Object.fromEntries(Object.entries(found).filter(([, v]) => v !== undefined)) as CloudInfo;
  } catch {
    return { provider: 'none' };
  }
}

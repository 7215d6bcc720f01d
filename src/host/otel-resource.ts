/**
 * The machine a run ran on, as OpenTelemetry resource attributes for the
 * target's spans (OTEL_RESOURCE_ATTRIBUTES, which the Node SDK reads):
 * semantic-convention names, values percent-encoded as the variable's
 * format wants. The SDK's own detectors add host.name, os and process.
 */
import type { CloudResult, HostResult } from '../report/result-schema.ts';

export function resourceAttributes(host: HostResult, cloud: CloudResult): Record<string, string> {
  const attrs: Record<string, string> = { 'host.cpu.model.name': host.cpu_model };
  if (cloud.provider !== 'none') {
    // Wireflame's provider names are the semantic convention's values.
    attrs['cloud.provider'] = cloud.provider;
    if (cloud.region) attrs['cloud.region'] = cloud.region;
    if (cloud.zone) attrs['cloud.availability_zone'] = cloud.zone;
    if (cloud.instance_type) attrs['host.type'] = cloud.instance_type;
    if (cloud.instance_id) attrs['host.id'] = cloud.instance_id;
  }
  return attrs;
}

/** key=value pairs joined by commas, keys and values percent-encoded (W3C Baggage octets). */
export function formatResourceAttributes(attrs: Record<string, string>): string {
  return Object.entries(attrs)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join(',');
}

/** What `wireflame run` prints for a person: the result in a few lines. */
import type { RunResult } from '../report/result-schema.ts';

export function summarize(result: RunResult, file: string): string {
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
    const gaps = kernelGaps(result.kernel);
    if (gaps) lines.push(`kernel data: ${gaps}`);
  } else {
    lines.push(result.kernel.reason ?? 'kernel stages off');
  }
  if (result.generator.saturated) lines.push(`warning: the load generator saturated (${result.generator.cpu_pct} % CPU)`);
  lines.push(`verdict: ${result.verdict.status}: ${result.verdict.summary}`);
  for (const c of result.verdict.causes) lines.push(`  ${c.share_pct} %  ${c.cause}: ${c.evidence}`);
  lines.push(`result: ${file}`);
  return lines.join('\n');
}

/** What the kernel's figures miss or took a late look at, when anything: they are then less than the whole story. */
function kernelGaps(kernel: RunResult['kernel']): string {
  const gaps: string[] = [];
  if (kernel.map_full > 0) gaps.push(`${kernel.map_full} map updates failed (map full)`);
  if (kernel.event_drops > 0) gaps.push(`${kernel.event_drops} raw events dropped (ring buffer full)`);
  if ((kernel.late_sends ?? 0) > 0) gaps.push(`${kernel.late_sends} send calls ended late (a hook missed their last segment)`);
  return gaps.join(', ');
}

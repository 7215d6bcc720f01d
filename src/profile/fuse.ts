/**
 * Fusion: one request's wall time split into the JavaScript it ran (CPU
 * samples labelled with its span), the kernel stages its bytes waited in,
 * and the backends it waited for, under its route and service. Pure: samples
 * and per-route totals in, weighted stacks out.
 */
import type { Stage } from '../kernel/layout.ts';
import { STAGE_SPAN_NAMES } from '../trace/kernel-spans.ts';
import { frame, type Frame, type WeightedStack } from './frames.ts';
import type { RouteTotals, StageNs } from './route-stats.ts';

/** A CPU sample from the profiler: JavaScript frames root first, and the request it ran for. */
export interface CpuSample {
  stack: Frame[];
  wallNs: number;
  /**
   * The thread's CPU time the sample stands for (pprof's cpu value: since the
   * sample before), or its wall time when the profile has none. Below the
   * wall time when the thread waited for a CPU: a busy machine does not make
   * a request's JavaScript look heavier than it was.
   */
  cpuNs: number;
  route?: string;
  spanId?: string;
}

export interface FuseInput {
  service: string;
  samples: CpuSample[];
  routes: RouteTotals[];
}

export const OUTSIDE_REQUESTS = '(outside requests)';
export const UNATTRIBUTED = '(waiting, not attributed)';
const IDLE = '(idle)';

/** The server socket's stages that lie outside the JavaScript: bytes waiting to be read, and to leave. tx_first is a prefix of tx_send. */
const SERVER_STAGES: Stage[] = ['rx_queue', 'tx_send', 'dev_queue'];
/** A backend call's stages: its request leaving, the wait for the answer (its send excluded), the answer waiting to be read. */
const BACKEND_STAGES: Stage[] = ['tx_send', 'dev_queue', 'peer_wait', 'rx_queue'];

/** "redis GET" -> "[redis] GET", "pg INSERT" -> "[pg] INSERT", an HTTP call -> "[http] GET host". */
export function backendFrameName(spanName: string): string {
  const m = /^(redis|pg) (.*)$/.exec(spanName);
  return m ? `[${m[1]}] ${m[2]}` : `[http] ${spanName}`;
}

function backendStageNs(kernel: StageNs, stage: Stage): number {
  const ns = kernel[stage] ?? 0;
  // The answer wait is timed from the send call: its send stage is shown on its own.
  return stage === 'peer_wait' ? Math.max(0, ns - (kernel.tx_send ?? 0)) : ns;
}

export function fuse(input: FuseInput): WeightedStack[] {
  const service = frame(input.service, 'service');
  const out: WeightedStack[] = [];
  const cpuByRoute = new Map<string, number>();
  for (const s of input.samples) {
    if (s.wallNs <= 0) continue;
    if (s.route === undefined) {
      if (s.stack.length === 0 || s.stack.at(-1)!.name === IDLE) continue;
      out.push({ frames: [service, frame(OUTSIDE_REQUESTS, 'other'), ...s.stack], ns: s.wallNs, labels: {} });
      continue;
    }
    cpuByRoute.set(s.route, (cpuByRoute.get(s.route) ?? 0) + s.wallNs);
    const labels: Record<string, string> = { route: s.route, ...(s.spanId ? { span_id: s.spanId } : {}) };
    out.push({ frames: [service, frame(s.route, 'route'), ...s.stack], ns: s.wallNs, labels });
  }

  for (const r of input.routes) {
    const route = frame(r.route, 'route');
    const labels = { route: r.route };
    let explained = cpuByRoute.get(r.route) ?? 0;
    for (const stage of SERVER_STAGES) {
      const ns = r.kernel[stage] ?? 0;
      if (ns <= 0) continue;
      out.push({ frames: [service, route, frame(STAGE_SPAN_NAMES[stage], 'kernel')], ns, labels });
      explained += ns;
    }
    for (const [name, b] of r.backends) {
      const backend = frame(backendFrameName(name), 'backend');
      let inKernel = 0;
      for (const stage of BACKEND_STAGES) {
        const ns = Math.min(backendStageNs(b.kernel, stage), b.ns - inKernel);
        if (ns <= 0) continue;
        out.push({ frames: [service, route, backend, frame(STAGE_SPAN_NAMES[stage], 'kernel')], ns, labels });
        inKernel += ns;
      }
      if (b.ns - inKernel > 0) out.push({ frames: [service, route, backend], ns: b.ns - inKernel, labels });
      explained += b.ns;
    }
    const rest = r.wallNs - explained;
    if (rest > 0) out.push({ frames: [service, route, frame(UNATTRIBUTED, 'other')], ns: rest, labels });
  }
  return out;
}

/**
 * Per-route totals of what requests waited on, gathered from every finished
 * request (bounded: one entry per route and per backend operation, plus the
 * few slowest requests kept whole). The fused profile adds them to the CPU
 * samples as synthetic frames.
 */
import type { StageAgg } from '../kernel/codec.ts';
import { STAGES, type Stage } from '../kernel/layout.ts';
import type { SpanRecord } from '../trace/span-record.ts';

export type StageNs = Partial<Record<Stage, number>>;

export interface BackendTotals {
  count: number;
  ns: number;
  kernel: StageNs;
}

export interface RouteTotals {
  route: string;
  count: number;
  wallNs: number;
  kernel: StageNs;
  backends: Map<string, BackendTotals>;
}

/** One request, kept whole for the slowest-request views. */
export interface RequestView extends RouteTotals {
  spanId: string;
  traceId: string;
}

/**
 * The wall time a stage took from its request: its occurrences may overlap
 * (skbs queued together each wait), so their sum is capped by the stretch
 * from the first's start to the last's end.
 */
export function stageWallNs(agg: StageAgg): number {
  const sum = agg.sumNs;
  return agg.firstNs > 0 && agg.lastNs >= agg.firstNs ? Math.min(sum, agg.lastNs - agg.firstNs) : sum;
}

/** b's wall time outside a's stretch: a response's packets wait in the device queue while its last bytes are still being sent. */
export function wallOutside(a: StageAgg | undefined, b: StageAgg): number {
  const wall = stageWallNs(b);
  if (!a || a.count === 0 || a.firstNs === 0 || b.firstNs === 0) return wall;
  const overlap = Math.min(a.lastNs, b.lastNs) - Math.max(a.firstNs, b.firstNs);
  return Math.max(0, wall - Math.max(0, overlap));
}

function stageNs(kernel: Partial<Record<Stage, StageAgg>> | null, into: StageNs = {}): StageNs {
  if (!kernel) return into;
  for (const s of STAGES) {
    const agg = kernel[s];
    if (!agg || agg.count === 0) continue;
    const ns = s === 'dev_queue' ? wallOutside(kernel.tx_send, agg) : stageWallNs(agg);
    into[s] = (into[s] ?? 0) + ns;
  }
  return into;
}

function addRequest(into: RouteTotals, span: SpanRecord): void {
  into.count++;
  into.wallNs += span.endNs - span.startNs;
  stageNs(span.kernel, into.kernel);
  for (const child of span.children) {
    const b = into.backends.get(child.name) ?? { count: 0, ns: 0, kernel: {} };
    b.count++;
    b.ns += child.endNs - child.startNs;
    stageNs(child.kernel, b.kernel);
    into.backends.set(child.name, b);
  }
}

const empty = (route: string): RouteTotals => ({ route, count: 0, wallNs: 0, kernel: {}, backends: new Map() });

export class RouteStats {
  private readonly byRoute = new Map<string, RouteTotals>();
  private readonly slow: RequestView[] = [];
  private readonly keepSlowest: number;

  constructor(keepSlowest = 5) {
    this.keepSlowest = keepSlowest;
  }

  record(span: SpanRecord): void {
    let totals = this.byRoute.get(span.name);
    if (!totals) this.byRoute.set(span.name, (totals = empty(span.name)));
    addRequest(totals, span);
    const wallNs = span.endNs - span.startNs;
    if (this.slow.length < this.keepSlowest || wallNs > this.slow.at(-1)!.wallNs) {
      const view: RequestView = { ...empty(span.name), spanId: span.spanId, traceId: span.traceId };
      addRequest(view, span);
      this.slow.push(view);
      this.slow.sort((a, b) => b.wallNs - a.wallNs);
      if (this.slow.length > this.keepSlowest) this.slow.pop();
    }
  }

  routes(): RouteTotals[] {
    return [...this.byRoute.values()].sort((a, b) => b.wallNs - a.wallNs);
  }

  /** Slowest first. */
  slowest(): RequestView[] {
    return [...this.slow];
  }
}

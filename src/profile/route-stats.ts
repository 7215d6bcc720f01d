/**
 * Per-route totals of what requests waited on, gathered from every finished
 * request (bounded: one entry per route and per backend operation, plus the
 * few slowest requests kept whole). The fused profile adds them to the CPU
 * samples as synthetic frames.
 */
import type { StageAgg } from '../kernel/codec.ts';
import type { Stage } from '../kernel/layout.ts';
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

/** RouteTotals as they are gathered: every stage present. */
interface Totals extends RouteTotals {
  kernel: Record<Stage, number>;
  backends: Map<string, BackendTotals & { kernel: Record<Stage, number> }>;
}

/** Totals of every stage, zero until one happens: one object shape for all of them. */
const noStages = (): Record<Stage, number> => ({ rx_queue: 0, tx_first: 0, tx_send: 0, dev_queue: 0, peer_wait: 0 });

/** A stage's wall time, 0 when it did not happen. */
const wallOf = (agg: StageAgg | undefined): number => (agg && agg.count > 0 ? stageWallNs(agg) : 0);

/**
 * Adds a request's stages into totals that name every stage (see noStages),
 * each by name: keyed by a varying stage, these accesses went megamorphic,
 * and this runs for every request while profiling.
 */
function addStages(kernel: Partial<Record<Stage, StageAgg>> | null, into: Record<Stage, number>): void {
  if (!kernel) return;
  into.rx_queue += wallOf(kernel.rx_queue);
  into.tx_first += wallOf(kernel.tx_first);
  into.tx_send += wallOf(kernel.tx_send);
  const dev = kernel.dev_queue;
  if (dev && dev.count > 0) into.dev_queue += wallOutside(kernel.tx_send, dev);
  into.peer_wait += wallOf(kernel.peer_wait);
}

function addRequest(into: Totals, span: SpanRecord): void {
  into.count++;
  into.wallNs += span.endNs - span.startNs;
  addStages(span.kernel, into.kernel);
  for (const child of span.children) {
    let b = into.backends.get(child.name);
    if (!b) into.backends.set(child.name, (b = { count: 0, ns: 0, kernel: noStages() }));
    b.count++;
    b.ns += child.endNs - child.startNs;
    addStages(child.kernel, b.kernel);
  }
}

const empty = (route: string): Totals => ({ route, count: 0, wallNs: 0, kernel: noStages(), backends: new Map() });

export class RouteStats {
  private readonly byRoute = new Map<string, Totals>();
  private readonly slow: (RequestView & Totals)[] = [];
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
      const view = { ...empty(span.name), spanId: span.spanId, traceId: span.traceId };
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

/**
 * Kernel stages for one run: attach to the target's process, and at the end
 * summarize what its sockets went through. Without kernel access the run
 * goes on and the result says why the stages are missing.
 */
import type { KernelResult, PeerResult } from '../report/result-schema.ts';
import { ensureBpffs } from './environment.ts';
import type { PeerStats } from './codec.ts';
import { HOOK_COUNTERS } from './layout.ts';
import { KernelSession, KernelUnavailableError } from './session.ts';
import { histogramDelta, summarizeStages } from './stage-summary.ts';
import { round } from '../util/round.ts';
import { connectionRoles } from '../host/tcp-connections.ts';

export interface KernelObserver {
  /** One line saying why kernel data is off, or null when it is on. */
  unavailable: string | null;
  /** Observes more processes (workers a server forked). */
  add(pids: number[]): void;
  /** Starts the window the summary covers (the end of warm-up). */
  mark(): void;
  /** Summarizes, detaches; safe to call twice. `services` names peers by "address:port". */
  finish(services?: Map<string, string>): KernelResult;
}

/** No kernel data for this run, and why. */
export function kernelOff(reason: string): KernelObserver {
  const off: KernelResult = { available: false, reason, hooks: {}, stages: {}, peers: [], events: 0, event_drops: 0, map_full: 0, late_sends: 0 };
  return { unavailable: reason, add: () => {}, mark: () => {}, finish: () => off };
}

const peerId = (p: { address: string; port: number }) => `${p.address}:${p.port}`;

/** Answer waits per peer between two readings, busiest first, named where `services` knows them. */
export function peerDelta(after: PeerStats[], before: PeerStats[], services: Map<string, string>): PeerResult[] {
  const base = new Map(before.map((p) => [peerId(p), p.agg]));
  return after
    .map((p) => {
      const b = base.get(peerId(p));
      const count = p.agg.count - (b?.count ?? 0);
      const totalMs = (p.agg.sumNs - (b?.sumNs ?? 0)) / 1e6;
      const service = services.get(peerId(p));
      return {
        address: p.address,
        port: p.port,
        ...(service ? { service } : {}),
        count,
        total_ms: round(totalMs),
        mean_ms: count ? round(totalMs / count) : 0,
        // The kernel keeps the maximum since load, not per window.
        max_ms: round(p.agg.maxNs / 1e6),
      };
    })
    .filter((p) => p.count > 0)
    .sort((a, b) => b.total_ms - a.total_ms);
}

export interface ObserveOptions {
  /**
   * Pins the shared maps here for an instrumented target to write span
   * owners into (as it would an agent's); removed by finish().
   */
  shareDir?: string;
}

/** Observes `pids` (more can be added later, so it may start empty). */
export function observeKernel(pids: number[], options: ObserveOptions = {}): KernelObserver {
  let session: KernelSession;
  try {
    session = KernelSession.open({ filter: { kind: 'pids', pids }, sharedOwners: options.shareDir !== undefined });
  } catch (err) {
    return kernelOff(err instanceof KernelUnavailableError ? err.message : `kernel stages off: ${String(err)}`);
  }
  const shareDir = options.shareDir;
  if (shareDir) {
    try {
      ensureBpffs();
      session.pinMaps(shareDir);
    } catch (err) {
      session.close();
      return kernelOff(`kernel stages off: cannot pin maps in ${shareDir}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  // Connections a process had open before it was observed (a warm pool) are
  // first seen mid-conversation: say which end they are, once a process
  // (those it opens later are seen from their start).
  const hinted = new Set<number>();
  const hint = (more: number[]) => {
    const fresh = more.filter((pid) => !hinted.has(pid));
    for (const pid of fresh) hinted.add(pid);
    if (fresh.length) session.hintRoles(connectionRoles(fresh));
  };
  hint(pids);
  let before = session.histograms();
  let peersBefore = session.peerStats();
  let result: KernelResult | undefined;
  return {
    unavailable: null,
    add(more) {
      if (result) return;
      hint(more);
      for (const pid of more) session.addPid(pid);
    },
    mark() {
      if (result) return;
      before = session.histograms();
      peersBefore = session.peerStats();
    },
    finish(services = new Map<string, string>()) {
      if (result) return result;
      const stages = summarizeStages(histogramDelta(session.histograms(), before));
      const counters = session.counters();
      const total = (k: 'events' | 'eventDrops' | 'mapFull' | 'late') =>
        Number(HOOK_COUNTERS.reduce((a, h) => a + counters[h][k], 0n));
      result = {
        available: true,
        hooks: Object.fromEntries(session.hooks.map((h) => [h.name, { mode: h.mode, target: h.target }])),
        stages,
        peers: peerDelta(session.peerStats(), peersBefore, services),
        events: total('events'),
        event_drops: total('eventDrops'),
        map_full: total('mapFull'),
        late_sends: total('late'),
      };
      if (shareDir) {
        session.unpinMaps(shareDir);
      }
      session.close();
      return result;
    },
  };
}

/**
 * Kernel stages for one run: attach to the target's process, and at the end
 * summarize what its sockets went through. Without kernel access the run
 * goes on and the result says why the stages are missing.
 */
import type { KernelResult } from '../report/result-schema.ts';
import { HOOK_COUNTERS } from './layout.ts';
import { KernelSession, KernelUnavailableError } from './session.ts';
import { histogramDelta, summarizeStages } from './stage-summary.ts';

export interface KernelObserver {
  /** One line saying why kernel data is off, or null when it is on. */
  unavailable: string | null;
  /** Observes more processes (workers a server forked). */
  add(pids: number[]): void;
  /** Starts the window the summary covers (the end of warm-up). */
  mark(): void;
  /** Summarizes, detaches; safe to call twice. */
  finish(): KernelResult;
}

/** No kernel data for this run, and why. */
export function kernelOff(reason: string): KernelObserver {
  const off: KernelResult = { available: false, reason, hooks: {}, stages: {}, events: 0, event_drops: 0, map_full: 0 };
  return { unavailable: reason, add: () => {}, mark: () => {}, finish: () => off };
}

export function observeKernel(pids: number[]): KernelObserver {
  let session: KernelSession;
  try {
    session = KernelSession.open({ filter: { kind: 'pids', pids } });
  } catch (err) {
    return kernelOff(err instanceof KernelUnavailableError ? err.message : `kernel stages off: ${String(err)}`);
  }
  let before = session.histograms();
  let result: KernelResult | undefined;
  return {
    unavailable: null,
    add(more) {
      if (!result) for (const pid of more) session.addPid(pid);
    },
    mark() {
      if (!result) before = session.histograms();
    },
    finish() {
      if (result) return result;
      const stages = summarizeStages(histogramDelta(session.histograms(), before));
      const counters = session.counters();
      const total = (k: 'events' | 'eventDrops' | 'mapFull') =>
        Number(HOOK_COUNTERS.reduce((a, h) => a + counters[h][k], 0n));
      result = {
        available: true,
        hooks: Object.fromEntries(session.hooks.map((h) => [h.name, { mode: h.mode, target: h.target }])),
        stages,
        events: total('events'),
        event_drops: total('eventDrops'),
        map_full: total('mapFull'),
      };
      session.close();
      return result;
    },
  };
}

/**
 * The common currency of the fused profile: stacks of frames, root first,
 * each weighted in nanoseconds of a request's wall time. CPU samples, kernel
 * stages and backend waits all become weighted stacks; every output (pprof,
 * folded stacks, the flame graph) is made from them.
 */

/** What a frame stands for: it decides its colour and its synthetic file name. */
export type FrameKind = 'service' | 'route' | 'cpu' | 'kernel' | 'backend' | 'other';

export interface Frame {
  name: string;
  kind: FrameKind;
  /** Source file of a JavaScript frame; empty for synthetic frames. */
  file?: string;
  line?: number;
}

export interface WeightedStack {
  /** Root first: service, route, then what the time went to. */
  frames: Frame[];
  ns: number;
  /** pprof labels: route always, span_id for samples taken inside a known request. */
  labels: Record<string, string>;
}

export const frame = (name: string, kind: FrameKind): Frame => ({ name, kind });

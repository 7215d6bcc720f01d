/**
 * The span bookkeeping behind the instrumentations: every request gets a
 * record, its backend calls get child records, each owns its socket in the
 * kernel while it runs, and at the end its kernel time is taken and the
 * export sampler decides whether it becomes OTLP spans.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Socket } from 'node:net';
import { SpanId, TraceId, parseTraceparent } from './trace-context.ts';
import { monoNs } from './clock.ts';
import type { ExportSampler } from './export-sampler.ts';
import { withParkedRx } from './kernel-spans.ts';
import type { OtlpSink } from './otlp-sink.ts';
import type { KernelHold, SocketOwners } from './socket-owners.ts';
import { SpanRecord, type AttributeValue } from './span-record.ts';

export interface TracerOptions {
  /** Null when kernel stages are off. */
  owners: SocketOwners | null;
  /** Null when nothing is exported. */
  sink: OtlpSink | null;
  sampler: ExportSampler;
  /** Labels profile samples with their requests, when profiling. */
  labels?: SampleLabeller;
}

/** What the profiler is told of connections and requests (profile/profiler.ts). */
export interface SampleLabeller {
  /** Runs a new connection's setup, where its requests' async context comes from. */
  connection<T>(socket: Socket, setup: () => T): T;
  /** A request starts; false when it must be labelled inside its own async context, by label(). */
  enter(span: SpanRecord, socket: Socket | null): boolean;
  /** Labels the current async context with the request. */
  label(span: SpanRecord): void;
  /** The request's name changed (its route became known). */
  rename(span: SpanRecord): void;
}

export interface TracerCounters {
  requests: number;
  /** Requests whose last bytes were still in the kernel when the response finished, and were waited for. */
  awaitedSend: number;
  /** Of those, requests whose bytes were still not all sent when the wait gave up. */
  sendIncomplete: number;
  backendCalls: number;
  /** Requests whose own socket had kernel time. */
  withKernel: number;
}

/** The last wait for a response's bytes to leave; the waits double from 1 ms up to this. */
const MAX_SEND_WAIT_MS = 512;

type FinishListener = (root: SpanRecord) => void;

export class Tracer {
  readonly counters: TracerCounters = { requests: 0, awaitedSend: 0, sendIncomplete: 0, backendCalls: 0, withKernel: 0 };
  private readonly als = new AsyncLocalStorage<SpanRecord>();
  private readonly options: TracerOptions;
  private readonly listeners: FinishListener[] = [];
  /** Finished requests waiting for their last bytes to leave, with how many bytes they wrote. */
  private readonly awaiting = new Map<SpanRecord, number>();

  constructor(options: TracerOptions) {
    this.options = options;
  }

  /** Whether a finished request waits for its last bytes to leave: then finishServer needs the bytes it wrote. */
  get awaitsSend(): boolean {
    return this.options.owners !== null;
  }

  /** The request span the current async context belongs to. */
  current(): SpanRecord | undefined {
    return this.als.getStore();
  }

  /** Runs a server connection's setup (the profiler labels its requests' async context there). */
  connection<T>(socket: Socket, setup: () => T): T {
    const labels = this.options.labels;
    return labels ? labels.connection(socket, setup) : setup();
  }

  /** Runs fn with span, arrived on socket, as the current request. */
  run<T>(span: SpanRecord, socket: Socket | null, fn: () => T): T {
    const labels = this.options.labels;
    if (!labels || labels.enter(span, socket)) return this.als.run(span, fn);
    return this.als.run(span, () => {
      labels.label(span);
      return fn();
    });
  }

  /**
   * Makes span, arrived on socket, the current request until the callback
   * running now returns to Node's native code, whose callback scope then
   * restores the context it found (as it does for every callback it makes).
   * Only for a caller known to run in such a callback: run() restores the
   * context itself, at the price of a second copy of the context frame
   * (AsyncLocalStorage.run enters the prior store anew on its way out).
   */
  enter(span: SpanRecord, socket: Socket | null): void {
    this.als.enterWith(span);
    const labels = this.options.labels;
    if (labels && !labels.enter(span, socket)) labels.label(span);
  }

  /** Names the current request anew, once its route is known. */
  rename(span: SpanRecord, name: string): void {
    span.name = name;
    this.options.labels?.rename(span);
  }

  /** Called with every finished request, exported or not (metrics and profiles read them). */
  onFinish(listener: FinishListener): void {
    this.listeners.push(listener);
  }

  /**
   * A request (its method, and its target: path and query) arrived on a
   * server socket; an incoming traceparent makes it a child of the caller's span.
   */
  startServer(method: string, target: string, socket: Socket | null, traceparent: string | undefined): SpanRecord {
    const parent = traceparent === undefined ? null : parseTraceparent(traceparent);
    const trace = parent ? TraceId.fromHex(parent.traceId) : TraceId.random();
    const span = new SpanRecord(trace, SpanId.random(), parent?.spanId, 'server', undefined, monoNs());
    span.method = method;
    span.target = target;
    if (socket) span.hold = this.options.owners?.own(socket, span.trace, span.id, true) ?? null;
    return span;
  }

  /**
   * The response is written. `bytesWritten` is what the span wrote to its
   * socket: until the kernel has sent that much, its send stages go on, and
   * the span waits for them (a few ms for a large response, at most ~1 s).
   * Read only when awaitsSend.
   */
  finishServer(span: SpanRecord, status: number, error: string | undefined, bytesWritten: number): void {
    if (span.endNs) return;
    span.endNs = monoNs();
    span.attributes['http.response.status_code'] = status;
    span.error = error;
    // A backend call still running when the response went out is not part of it.
    if (span.children.length) span.children = span.children.filter((c) => c.endNs > 0);
    // Only a span whose socket the kernel times has send stages to wait for.
    if (span.hold && !this.sent(span.hold, bytesWritten)) {
      this.counters.awaitedSend++;
      this.awaiting.set(span, bytesWritten);
      this.awaitSend(span, 1);
      return;
    }
    this.finalize(span);
  }

  /**
   * Finishes every request still waiting for its last bytes, with the
   * kernel time it has now: the process is exiting, and a request left
   * waiting would be missing from the profile and the spans.
   */
  finishAwaiting(): void {
    for (const [span, bytesWritten] of this.awaiting) {
      if (span.hold && !this.sent(span.hold, bytesWritten)) this.markIncomplete(span);
      this.finishAwaited(span);
    }
  }

  private sent(hold: KernelHold, bytesWritten: number): boolean {
    return this.options.owners?.sent(hold, bytesWritten) ?? true;
  }

  private markIncomplete(span: SpanRecord): void {
    this.counters.sendIncomplete++;
    span.attributes['wireflame.kernel.send_incomplete'] = true;
  }

  private awaitSend(span: SpanRecord, delayMs: number): void {
    setTimeout(() => {
      const bytesWritten = this.awaiting.get(span);
      // Finished already, at exit.
      if (bytesWritten === undefined || !span.hold) return;
      if (this.sent(span.hold, bytesWritten)) return this.finishAwaited(span);
      if (delayMs >= MAX_SEND_WAIT_MS) {
        this.markIncomplete(span);
        return this.finishAwaited(span);
      }
      this.awaitSend(span, delayMs * 2);
    }, delayMs).unref();
  }

  /** The wait for a request's last bytes is over. (Only awaited spans touch the map: a key's hash costs every request.) */
  private finishAwaited(span: SpanRecord): void {
    this.awaiting.delete(span);
    this.finalize(span);
  }

  private finalize(span: SpanRecord): void {
    const { hold } = span;
    const { owners, sink } = this.options;
    this.counters.requests++;
    if (hold && owners) {
      // The request lasted until its last byte left: its kernel stages end inside it.
      const lastNs = owners.lastEndNs(hold);
      span.endNs = Math.max(span.endNs, lastNs);
      if (lastNs > 0 || hold.parked) this.counters.withKernel++;
    }
    const reason = this.options.sampler.decide(span.endNs - span.startNs, span.error !== undefined, span.endNs);
    const exported = reason !== null && sink !== null;
    // The stages' aggregates are built only for the requests that are read
    // whole: most are neither exported nor profiled.
    if (hold && owners) {
      if (exported || this.listeners.length > 0) this.takeKernel(span);
      owners.settle(hold, span.kernel);
    }
    for (const listener of this.listeners) listener(span);
    if (exported) {
      span.attributes['wireflame.export.reason'] = reason;
      sink.submit(span);
    }
  }

  /** A backend call made for the current request; null outside any request. */
  startClient(name: string, attributes: Record<string, AttributeValue>): SpanRecord | null {
    const parent = this.als.getStore();
    if (!parent || parent.endNs) return null;
    const span = new SpanRecord(parent.trace, SpanId.random(), parent.spanId, 'client', name, monoNs());
    span.attributes = attributes;
    parent.children.push(span);
    return span;
  }

  /** The client span's bytes go out on this socket from now on. */
  ownSocket(span: SpanRecord, socket: Socket): void {
    span.hold = this.options.owners?.own(socket, span.trace, span.id, false) ?? null;
  }

  finishClient(span: SpanRecord, error: string | undefined): void {
    if (span.endNs) return;
    span.endNs = monoNs();
    span.error = error;
    this.takeKernel(span);
    if (span.hold) this.options.owners?.settle(span.hold, span.kernel);
    this.counters.backendCalls++;
  }

  /** The span's kernel time: what was parked for it at its start, and what its socket did since. */
  private takeKernel(span: SpanRecord): void {
    const { hold } = span;
    if (!hold) return;
    const since = this.options.owners?.read(hold);
    const parked = hold.parked;
    if (since) span.kernel = parked ? withParkedRx(since, parked) : since;
    else if (parked) span.kernel = { rx_queue: parked };
  }
}

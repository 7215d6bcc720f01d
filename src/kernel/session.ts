/**
 * A running set of Wireflame programs: the typed API over the addon that the
 * rest of Wireflame uses. Opening chooses attach points by trial, loads,
 * attaches and configures; closing (or the process exiting) detaches.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import {
  OBJECT_PATH,
  loadNative,
  type Native,
  type NativeError,
  type NativeKernelObject,
  type NativeRingReader,
  type ProgramStats,
} from './addon.ts';
import {
  decodeEvents,
  decodePeerKey,
  decodeStageAgg,
  encodeConfig,
  encodeConnKey,
  encodeU32,
  encodeU64,
  perCpuSlices,
  sumCounters,
  sumHistograms,
  type Counters,
  type KernelConfig,
  type KernelEvent,
  type PeerStats,
  type StageHistogram,
} from './codec.ts';
import { cgroup2Root, environmentProblem, readEnvironment } from './environment.ts';
import { CONFIG_MAP, SHARED_MAPS, SharedMaps } from './shared-maps.ts';
import {
  HOOKS,
  candidateKey,
  chooseHooks,
  matchAtDevQueue,
  programsToLoad,
  sendEndsAtDriver,
  stateInHash,
  type HookChoice,
  type Prober,
} from './hooks.ts';
import { COUNTERS, EVENT, FILTER, HIST, HOOK_COUNTERS, PEER_KEY, ROLE, STAGE_AGG, type HookCounter, type Stage } from './layout.ts';
import type { ConnectionRole } from '../host/tcp-connections.ts';

export type Filter = { kind: 'all' } | { kind: 'pids'; pids: number[] } | { kind: 'cgroups'; paths: string[] };

export interface KernelOptions {
  /** Whose sockets are recorded; default: this process. */
  filter?: Filter;
  /** Raw events: 1 in N stage measurements; 0 (default) = aggregates only. */
  eventSample?: number;
  /** Queued event bytes that wake the reader early; it also drains on a timer. */
  wakeupBytes?: number;
  objectPath?: string;
  /** What the kernel offers; default: trial loads through the addon. Tests override it. */
  prober?: Prober;
  /** Other processes write socket owners (an agent serving pinned maps): look them up from the start. */
  sharedOwners?: boolean;
  /** false: the send hooks do without BPF timestamping, as on kernels before 6.14 (default: use it where the kernel has it). */
  timestamping?: boolean;
}

/** Kernel data cannot be had; `message` is one line saying why. */
export class KernelUnavailableError extends Error {
  override name = 'KernelUnavailableError';
}

export const MAPS = {
  ...SHARED_MAPS,
  config: CONFIG_MAP,
  pids: 'wf_target_pids',
  cgroups: 'wf_target_cgroups',
  hist: 'wf_hist',
  counters: 'wf_counters',
  events: 'wf_events',
  peers: 'wf_peer_stats',
  roles: 'wf_role_hints',
} as const;

/** Trial loads and BTF lookups through the addon; a refusal is reported by its errno name. */
export function nativeProber(native: Native): Prober {
  const trials = {
    fentry: native.fentryCanAttach,
    kprobe: native.kprobeAvailable,
    tp_btf: native.tpBtfExists,
    kfunc: native.kfuncExists,
  };
  return (kind, name) => {
    if (kind === 'cgroup2') return cgroup2Root() ? true : 'no cgroup v2 mount';
    const result = trials[kind](name);
    return result === true ? true : errnoName(result);
  };
}

const ERRNO: Record<number, string> = { 1: 'EPERM', 2: 'ENOENT', 13: 'EACCES', 22: 'EINVAL', 95: 'EOPNOTSUPP', 524: 'ENOTSUPP' };
function errnoName(errno: number): string {
  return ERRNO[errno] ?? `errno ${errno}`;
}

/** A hook's mode failed: so it did for every hook its programs serve (timestamping serves three). */
function dropMode(hooks: readonly HookChoice[], failing: HookChoice, failed: Map<string, string>, reason: string): void {
  for (const h of hooks) {
    if (h.mode === failing.mode && h.programs.some((p) => failing.programs.includes(p))) failed.set(candidateKey(h.name, h), reason);
  }
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'unknown error';
}

export class KernelSession extends SharedMaps {
  readonly hooks: readonly HookChoice[];
  readonly attached: readonly string[];
  private readonly object: NativeKernelObject;
  private readonly fds: Record<keyof typeof MAPS, number>;
  private readonly cpus: number;
  private ring: NativeRingReader | undefined;
  private flushWaiters: (() => void)[] = [];
  private closed = false;
  private config: KernelConfig;
  private readonly onExit = () => this.close();

  private constructor(native: Native, object: NativeKernelObject, hooks: HookChoice[], options: KernelOptions) {
    const fds = Object.fromEntries(Object.entries(MAPS).map(([k, name]) => [k, object.mapFd(name)])) as Record<
      keyof typeof MAPS,
      number
    >;
    super(native, fds, sendEndsAtDriver(hooks));
    this.fds = fds;
    this.object = object;
    this.hooks = hooks;
    this.cpus = native.possibleCpus();
    // Configured before anything attaches: an empty config means "observe everything".
    this.config = this.configure(options, hooks);
    this.attached = object.attach(cgroup2Root() ?? undefined);
    process.once('exit', this.onExit);
  }

  /** Throws KernelUnavailableError with a one-line reason. */
  static open(options: KernelOptions = {}): KernelSession {
    const problem = environmentProblem(readEnvironment());
    if (problem) throw new KernelUnavailableError(problem);
    let native: Native;
    try {
      native = loadNative();
    } catch (err) {
      throw new KernelUnavailableError(`kernel stages off: ${oneLine(err)}`);
    }
    const prober = options.prober ?? nativeProber(native);
    const failed = new Map<string, string>();
    if (options.timestamping === false) {
      for (const hook of HOOKS) {
        for (const c of hook.candidates.filter((c) => c.mode === 'sockops')) failed.set(candidateKey(hook.name, c), 'turned off');
      }
    }
    // A mode the probe allowed can still fail in the verifier or at attach:
    // drop that hook's mode and retry with the next one.
    for (;;) {
      const hooks = chooseHooks(prober, failed);
      if (hooks.every((h) => h.mode === 'unavailable')) {
        throw new KernelUnavailableError(`kernel stages off: no usable hook (${hooks.flatMap((h) => h.notes).join('; ')})`);
      }
      const object = new native.KernelObject(options.objectPath ?? OBJECT_PATH);
      const wanted = programsToLoad(hooks);
      for (const p of object.programs()) object.setAutoload(p.name, wanted.has(p.name));
      try {
        object.load();
      } catch (err) {
        object.close();
        // libbpf names the program the verifier refused; without a name, drop the best mode first.
        const refused = /prog '(\w+)': (?:BPF program load failed|failed to load)/.exec((err as NativeError).log ?? '')?.[1];
        const hook = hooks.find((h) => h.mode !== 'tp_btf' && h.mode !== 'unavailable' && (!refused || h.programs.includes(refused)));
        if (!hook) throw new KernelUnavailableError(`kernel stages off: ${oneLine(err)}`);
        dropMode(hooks, hook, failed, `failed to load (${oneLine(err)})`);
        continue;
      }
      try {
        return new KernelSession(native, object, hooks, options);
      } catch (err) {
        object.close();
        const program = (err as NativeError).program;
        const hook = hooks.find((h) => program !== undefined && h.programs.includes(program) && h.mode !== 'tp_btf');
        if (!hook) throw new KernelUnavailableError(`kernel stages off: ${oneLine(err)}`);
        dropMode(hooks, hook, failed, `failed to attach (${oneLine(err)})`);
      }
    }
  }

  private configure(options: KernelOptions, hooks: readonly HookChoice[]): KernelConfig {
    const filter = options.filter ?? { kind: 'pids', pids: [process.pid] };
    const pids = filter.kind === 'pids' ? [...new Set(filter.pids)] : [];
    for (const pid of pids) this.native.mapUpdate(this.fds.pids, encodeU32(pid), Buffer.from([1]));
    for (const path of filter.kind === 'cgroups' ? filter.paths : []) {
      // A cgroup v2 directory's inode number is its cgroup id.
      this.native.mapUpdate(this.fds.cgroups, encodeU64(BigInt(statSync(path).ino)), Buffer.from([1]));
    }
    const config: KernelConfig = {
      filter: FILTER[filter.kind === 'pids' ? 'pid' : filter.kind === 'cgroups' ? 'cgroup' : 'all'],
      eventSample: options.eventSample ?? 0,
      wakeupBytes: options.wakeupBytes ?? 256 * 1024,
      txMatchAtDevQueue: matchAtDevQueue(hooks),
      generation: 0,
      stateInHash: stateInHash(hooks),
      ownersUsed: options.sharedOwners ?? false,
      sendEndsAtDriver: this.sendEndsAtDriver,
      pids,
    };
    this.writeConfig(config);
    return config;
  }

  private writeConfig(config: KernelConfig = this.config): void {
    this.native.mapUpdate(this.fds.config, encodeU32(0), encodeConfig(config));
  }

  /** Observe another process (with the pid filter). */
  addPid(pid: number): void {
    if (this.config.pids.includes(pid)) return;
    this.native.mapUpdate(this.fds.pids, encodeU32(pid), Buffer.from([1]));
    this.config = { ...this.config, pids: [...this.config.pids, pid], generation: this.config.generation + 1 };
    this.writeConfig();
  }

  /** Stop observing a process: its sockets stop being recorded too. */
  removePid(pid: number): void {
    this.native.mapDelete(this.fds.pids, encodeU32(pid));
    const pids = this.config.pids.filter((p) => p !== pid);
    this.config = { ...this.config, pids, generation: this.config.generation + 1 };
    this.writeConfig();
  }

  protected override ownerWritten(): void {
    if (this.config.ownersUsed) return;
    this.config = { ...this.config, ownersUsed: true };
    this.writeConfig();
  }

  /**
   * Which end of each connection already open the observed processes are
   * (host/tcp-connections.ts): the probes first see those mid-conversation,
   * where who spoke first, and so whose answer waits count, is not seen.
   */
  hintRoles(connections: readonly ConnectionRole[]): void {
    for (const c of connections) this.native.mapUpdate(this.fds.roles, encodeConnKey(c), encodeU32(ROLE[c.role]));
  }

  /** How long each peer of the observed client sockets took to answer, since load. */
  peerStats(): PeerStats[] {
    return this.native.mapKeys(this.fds.peers, PEER_KEY.size).flatMap((key) => {
      const value = this.native.mapLookup(this.fds.peers, key, STAGE_AGG.size);
      return value ? [{ ...decodePeerKey(key), agg: decodeStageAgg(value) }] : [];
    });
  }

  /** log2 histograms per stage over 100 % of observed traffic since load. */
  histograms(): Record<Stage, StageHistogram> {
    const buf = this.native.mapLookup(this.fds.hist, encodeU32(0), HIST.size * this.cpus);
    if (!buf) throw new Error('histogram map has no entry');
    return sumHistograms(perCpuSlices(buf, HIST.size, this.cpus));
  }

  counters(): Record<HookCounter, Counters> {
    return Object.fromEntries(
      HOOK_COUNTERS.map((hook, i) => {
        const buf = this.native.mapLookup(this.fds.counters, encodeU32(i), COUNTERS.size * this.cpus);
        if (!buf) throw new Error(`counter map has no entry ${i}`);
        return [hook, sumCounters(perCpuSlices(buf, COUNTERS.size, this.cpus))];
      }),
    ) as Record<HookCounter, Counters>;
  }

  programStats(): ProgramStats[] {
    return this.object.progStats();
  }

  /** Raw events, in batches, on the JS thread. Needs eventSample > 0. */
  onEvents(listener: (events: KernelEvent[]) => void, intervalMs = 100): void {
    if (this.ring) throw new Error('events already have a listener');
    this.ring = new this.native.RingReader(this.fds.events, EVENT.size, intervalMs, (batch, flushes) => {
      if (batch) listener(decodeEvents(batch));
      // Requests are answered in the order they were made.
      for (const resolve of this.flushWaiters.splice(0, flushes)) resolve();
    });
  }

  /** Resolves once every event submitted before the call was delivered. */
  flushEvents(): Promise<void> {
    const ring = this.ring;
    if (!ring) return Promise.resolve();
    return new Promise((resolve) => {
      this.flushWaiters.push(resolve);
      ring.requestFlush();
    });
  }

  /** Pins every map in `dir` (created if needed; bpffs must be mounted). */
  pinMaps(dir: string): void {
    mkdirSync(dir, { recursive: true });
    this.object.pinMaps(dir);
  }

  /** Unpins the maps and removes `dir`. */
  unpinMaps(dir: string): void {
    this.object.unpinMaps(dir);
    rmSync(dir, { recursive: true, force: true });
  }

  /** Detaches every program. Also runs on process exit. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    process.removeListener('exit', this.onExit);
    this.ring?.close();
    for (const resolve of this.flushWaiters.splice(0)) resolve();
    this.object.close();
  }
}

/**
 * The native addon (agent/), typed. Loading it can fail (not built, wrong
 * platform); callers get a one-line reason instead of a stack trace.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface ProgramInfo {
  name: string;
  section: string;
  autoload: boolean;
}

export interface ProgramStats {
  name: string;
  id: number;
  runTimeNs: bigint;
  runCnt: bigint;
}

export interface MapInfo {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  name: string;
  id: number;
}

export interface NativeKernelObject {
  programs(): ProgramInfo[];
  setAutoload(program: string, autoload: boolean): void;
  load(): void;
  /** Attaches every program that loads (sockops ones to `cgroupDir`); returns their names. */
  attach(cgroupDir?: string): string[];
  mapFd(name: string): number;
  pinMaps(dir: string): void;
  unpinMaps(dir: string): void;
  progStats(): ProgramStats[];
  close(): void;
}

export interface NativeRingReader {
  requestFlush(): void;
  stats(): { records: number; batches: number; malformed: number };
  close(): void;
}

/** A libbpf failure: `code` is the errno name (EPERM, ENOENT, ...). */
export interface NativeError extends Error {
  code?: string;
  errno?: number;
  /** libbpf's own messages, the verifier log among them. */
  log?: string;
  /** The program that failed to attach. */
  program?: string;
}

export interface Native {
  takeLog(): string;
  libbpfVersion(): string;
  /** true, or the errno that says why not. */
  fentryCanAttach(fn: string): true | number;
  kprobeAvailable(fn: string): true | number;
  tpBtfExists(tracepoint: string): true | number;
  kfuncExists(fn: string): true | number;
  mapInfo(fd: number): MapInfo;
  mapLookup(fd: number, key: Buffer, valueSize: number): Buffer | null;
  mapLookupAndDelete(fd: number, key: Buffer, valueSize: number): Buffer | null;
  mapUpdate(fd: number, key: Buffer, value: Buffer, flags?: number): void;
  mapDelete(fd: number, key: Buffer): boolean;
  mapKeys(fd: number, keySize: number): Buffer[];
  objGet(path: string, readOnly?: boolean): number;
  closeFd(fd: number): void;
  possibleCpus(): number;
  socketCookie(fd: number): bigint;
  enableStats(): number;
  /** bpf_map_create(type, keySize, valueSize, maxEntries, flags): a map outside any object. */
  mapCreate(type: number, keySize: number, valueSize: number, maxEntries: number, flags: number): number;
  /** A BPF_F_MMAPABLE array map's memory, shared with the programs (unmapped when collected). */
  mapMmap(fd: number, size: number): ArrayBuffer;
  KernelObject: new (path: string) => NativeKernelObject;
  RingReader: new (
    mapFd: number,
    recordSize: number,
    intervalMs: number,
    onDelivery: (batch: Buffer | null, flushes: number) => void,
  ) => NativeRingReader;
}

const root = fileURLToPath(new URL('../../', import.meta.url));
export const ADDON_PATH = `${root}agent/build/wireflame_agent.node`;
export const OBJECT_PATH = `${root}bpf/wireflame.bpf.o`;

let cached: Native | undefined;

/** The addon, or an Error whose message is one line saying what to do. */
export function loadNative(): Native {
  if (cached) return cached;
  if (!existsSync(ADDON_PATH)) throw new Error(`native addon not built (${ADDON_PATH}): run npm run setup`);
  const require = createRequire(import.meta.url);
  cached = require(ADDON_PATH) as Native;
  return cached;
}

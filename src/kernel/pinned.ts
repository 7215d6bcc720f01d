/**
 * The shared maps of a running `wireflame agent`, found pinned in bpffs: a
 * service writes socket owners and reads span aggregates without loading any
 * program. It still needs CAP_BPF: the bpf() syscall is closed to
 * unprivileged users on kernels that disable unprivileged BPF (the default).
 */
import { join } from 'node:path';
import { loadNative, type NativeError } from './addon.ts';
import { KernelUnavailableError } from './session.ts';
import { configSendEndsAtDriver, encodeU32 } from './codec.ts';
import { CONFIG } from './layout.ts';
import { CONFIG_MAP, SHARED_MAPS, SharedMaps, type SharedMapFds } from './shared-maps.ts';

export const DEFAULT_PIN_DIR = '/sys/fs/bpf/wireflame';

export class PinnedMaps extends SharedMaps {
  private readonly fds: SharedMapFds;

  private constructor(fds: SharedMapFds, sendEndsAtDriver: boolean) {
    super(loadNative(), fds, sendEndsAtDriver);
    this.fds = fds;
  }

  /** Throws KernelUnavailableError with a one-line reason. */
  static open(dir = DEFAULT_PIN_DIR): PinnedMaps {
    const native = loadNative();
    const fds: Partial<SharedMapFds> = {};
    let config: Buffer | null;
    try {
      for (const [key, name] of Object.entries(SHARED_MAPS) as [keyof SharedMapFds, string][]) {
        fds[key] = native.objGet(join(dir, name));
      }
      const configFd = native.objGet(join(dir, CONFIG_MAP), true);
      try {
        config = native.mapLookup(configFd, encodeU32(0), CONFIG.size);
      } finally {
        native.closeFd(configFd);
      }
    } catch (err) {
      for (const fd of Object.values(fds)) native.closeFd(fd);
      const code = (err as NativeError).code ?? 'error';
      throw new KernelUnavailableError(`kernel stages off: no Wireflame agent maps in ${dir} (${code}): is wireflame agent running?`);
    }
    return new PinnedMaps(fds as SharedMapFds, config !== null && configSendEndsAtDriver(config));
  }

  close(): void {
    for (const fd of Object.values(this.fds)) this.native.closeFd(fd);
  }
}

/**
 * The send paths the probes can take: BPF timestamping (Linux 6.14 on,
 * these machines) and the tracepoints older kernels fall back to. A test of
 * the send path runs on both; `prober` makes the session take that path.
 */
import { loadNative } from '../../src/kernel/addon.ts';
import { chooseHooks, type AttachMode, type Prober } from '../../src/kernel/hooks.ts';
import { nativeProber } from '../../src/kernel/session.ts';

export interface SendPath {
  name: string;
  /** The mode the send hooks then take. */
  mode: AttachMode;
  prober: Prober;
  /** Why the path cannot be had on this kernel, or null. */
  missing: string | null;
}

export function sendPaths(): SendPath[] {
  const real = nativeProber(loadNative());
  // As the session would choose: timestamping, where its requirements hold.
  const send = chooseHooks(real).find((h) => h.name === 'tcp_sendmsg')!;
  return [
    {
      name: 'timestamping',
      mode: 'sockops',
      prober: real,
      missing: send.mode === 'sockops' ? null : `no BPF timestamping on this kernel (${send.notes.join('; ')})`,
    },
    { name: 'tracepoint', mode: 'tp_btf', prober: (kind, name) => (kind === 'kfunc' ? 'ENOENT' : real(kind, name)), missing: null },
  ];
}

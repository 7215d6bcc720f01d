/** What the kernel has loaded, from bpftool: for tests that check nothing is left behind. */
import { execFileSync } from 'node:child_process';
import { loadNative } from '../../src/kernel/addon.ts';
import type { AttachMode, Prober } from '../../src/kernel/hooks.ts';
import { nativeProber } from '../../src/kernel/session.ts';

export function wireflamePrograms(): string[] {
  const progs = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as { name: string }[];
  return progs.map((p) => p.name).filter((n) => n.startsWith('wf_'));
}

/** The kernel frees a detached program after an RCU grace period, not at once. */
export async function programsLeft(): Promise<string[]> {
  for (let i = 0; i < 100 && wireflamePrograms().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  return wireflamePrograms();
}

/**
 * The send paths the probes can take: BPF timestamping (Linux 6.14 on,
 * these machines) and the tracepoints older kernels fall back to. A test of
 * the send path runs on both; `prober` makes the session take that path.
 */
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
  const stamps = real('kfunc', 'bpf_sock_ops_enable_tx_tstamp');
  return [
    { name: 'timestamping', mode: 'sockops', prober: real, missing: stamps === true ? null : `no BPF timestamping on this kernel (${stamps})` },
    { name: 'tracepoint', mode: 'tp_btf', prober: (kind, name) => (kind === 'kfunc' ? 'ENOENT' : real(kind, name)), missing: null },
  ];
}

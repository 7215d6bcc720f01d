/**
 * What the machine offers eBPF: kernel release, BTF, privileges, bpffs.
 * Read from /proc and /sys only, so it works without the addon and as any user.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';

export const VMLINUX_BTF = '/sys/kernel/btf/vmlinux';
export const BPFFS = '/sys/fs/bpf';

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

export interface Environment {
  kernel: string;
  btf: boolean;
  privileged: boolean;
  /** Capabilities missing for loading tracing programs; empty when privileged. */
  missingCapabilities: string[];
  bpffs: boolean;
}

/** Effective capability set of this process, from /proc/self/status. */
export function effectiveCapabilities(status = readFileSync('/proc/self/status', 'utf8')): bigint {
  const line = status.split('\n').find((l) => l.startsWith('CapEff:'));
  return line ? BigInt(`0x${line.slice('CapEff:'.length).trim()}`) : 0n;
}

/** CAP_BPF + CAP_PERFMON (5.8+), or CAP_SYS_ADMIN which implies both. */
export function missingCapabilities(caps: bigint): string[] {
  const has = (bit: bigint) => (caps & (1n << bit)) !== 0n;
  if (has(CAP_SYS_ADMIN)) return [];
  const missing: string[] = [];
  if (!has(CAP_BPF)) missing.push('CAP_BPF');
  if (!has(CAP_PERFMON)) missing.push('CAP_PERFMON');
  return missing;
}

export function bpffsMounted(mounts = readFileSync('/proc/mounts', 'utf8')): boolean {
  return mounts.split('\n').some((l) => {
    const [, dir, type] = l.split(' ');
    return dir === BPFFS && type === 'bpf';
  });
}

/** Where cgroup v2 is mounted (sockops programs attach to its root), or null. */
export function cgroup2Root(mounts = readFileSync('/proc/mounts', 'utf8')): string | null {
  for (const l of mounts.split('\n')) {
    const [, dir, type] = l.split(' ');
    if (type === 'cgroup2' && dir) return dir;
  }
  return null;
}

/** Mounts bpffs where the kernel expects pins, unless it is there (needs CAP_SYS_ADMIN). */
export function ensureBpffs(): void {
  if (!bpffsMounted()) execFileSync('mount', ['-t', 'bpf', 'bpf', BPFFS]);
}

export function readEnvironment(): Environment {
  const missing = missingCapabilities(effectiveCapabilities());
  return {
    kernel: release(),
    btf: existsSync(VMLINUX_BTF),
    privileged: missing.length === 0,
    missingCapabilities: missing,
    bpffs: bpffsMounted(),
  };
}

/** Why kernel data is off, in one line, or null when nothing is missing. */
export function environmentProblem(env: Environment): string | null {
  if (!env.privileged) return `kernel stages off: missing ${env.missingCapabilities.join(' and ')} (run as root or grant them)`;
  if (!env.btf) return `kernel stages off: no BTF at ${VMLINUX_BTF} (needs a kernel built with CONFIG_DEBUG_INFO_BTF)`;
  return null;
}

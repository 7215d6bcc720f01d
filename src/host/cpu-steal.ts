/**
 * CPU steal: time the hypervisor ran other guests on this machine's CPUs
 * while they had work, from the `cpu` line of /proc/stat. On a shared VM it
 * stalls the load generator and the target alike: a run that lost much of it
 * measured the host as much as the service. (The same line gives the
 * benches the machine's busy time.)
 */
import { readFileSync } from 'node:fs';

/** Cumulative jiffies of every CPU: busy running code, stolen, and all of them. */
export interface CpuTimes {
  /** user + nice + system + irq + softirq. */
  busy: number;
  steal: number;
  total: number;
}

/** The aggregate `cpu` line of /proc/stat's text; null when it has none. */
export function parseCpuTimes(stat: string): CpuTimes | null {
  const line = /^cpu\s+([\d ]+)$/m.exec(stat);
  if (!line) return null;
  // user nice system idle iowait irq softirq steal guest guest_nice; guest
  // time is already counted in user and nice.
  const fields = line[1]!.trim().split(/\s+/).map(Number);
  if (fields.length < 8) return null;
  const [user, nice, system, , , irq, softirq, steal] = fields as [number, number, number, number, number, number, number, number];
  return { busy: user + nice + system + irq + softirq, steal, total: fields.slice(0, 8).reduce((a, b) => a + b, 0) };
}

/** This machine's CPU times now; null where /proc/stat cannot be read (not Linux). */
export function readCpuTimes(): CpuTimes | null {
  try {
    return parseCpuTimes(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return null;
  }
}

/** Steal between two readings, in % of all CPU time; null when either is missing. */
export function stealPct(before: CpuTimes | null, after: CpuTimes | null): number | null {
  if (!before || !after) return null;
  const total = after.total - before.total;
  return total > 0 ? ((after.steal - before.steal) / total) * 100 : 0;
}

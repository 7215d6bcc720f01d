/**
 * Machine-wide busy CPU time from /proc/stat: with the request count of the
 * same interval it gives CPU per request, a steadier measure of overhead than
 * throughput at saturation.
 */
import { readFileSync } from 'node:fs';
import { readCpuTimes, stealPct } from '../../src/host/cpu-steal.ts';

const TICK_NS = 1e9 / 100; // USER_HZ is 100 on Linux

/** user + nice + system + irq + softirq over all CPUs, in ns. */
export function busyNs(): number {
  const times = readCpuTimes();
  if (!times) throw new Error('/proc/stat has no cpu line: the benches run on Linux');
  return times.busy * TICK_NS;
}

/** CPU time (user + system) a process has used so far, from /proc/PID/stat. */
export function processCpuNs(pid: number): number {
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_NS;
}

/**
 * Prints, as the bench exits, the CPU time the hypervisor took from this
 * machine while it ran: steal stalls the target and the load generator
 * alike, and on these VMs it came and went by the hour (35 % under load
 * one morning), so a bench's figures are read with it.
 */
export function reportStealAtExit(): void {
  const start = readCpuTimes();
  process.once('exit', () => {
    const pct = stealPct(start, readCpuTimes());
    if (pct !== null) console.log(`CPU steal over the bench: ${pct.toFixed(1)} % of this machine's CPU time`);
  });
}

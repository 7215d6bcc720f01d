/**
 * Machine-wide busy CPU time from /proc/stat: with the request count of the
 * same interval it gives CPU per request, a steadier measure of overhead than
 * throughput at saturation.
 */
import { readFileSync } from 'node:fs';

const TICK_NS = 1e9 / 100; // USER_HZ is 100 on Linux

/** user + nice + system + irq + softirq over all CPUs, in ns. */
export function busyNs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = fields;
  return (user + nice + system + irq + softirq) * TICK_NS;
}

/** The machine a run ran on, from systeminformation. */
import os from 'node:os';
import si from 'systeminformation';
import type { HostResult } from '../report/result-schema.ts';

/** Never fails: what systeminformation cannot tell comes from node:os. */
export async function describeHost(): Promise<HostResult> {
  try {
    return await systemInformation();
  } catch {
    return {
      cpu_model: os.cpus()[0]?.model ?? 'unknown',
      cores: os.availableParallelism(),
      memory_bytes: os.totalmem(),
      kernel: os.release(),
      os: os.type(),
      nics: [],
    };
  }
}

async function systemInformation(): Promise<HostResult> {
  const [cpu, mem, os, nics] = await Promise.all([si.cpu(), si.mem(), si.osInfo(), si.networkInterfaces()]);
  const list = Array.isArray(nics) ? nics : [nics];
  return {
    cpu_model: `${cpu.manufacturer} ${cpu.brand}`.trim(),
    cores: cpu.cores,
    memory_bytes: mem.total,
    kernel: os.kernel,
    os: `${os.distro} ${os.release}`.trim(),
    nics: list
      .filter((n) => !n.internal)
      .map((n) => ({ name: n.iface, speed_mbps: typeof n.speed === 'number' && n.speed > 0 ? n.speed : null })),
  };
}

/**
 * `wireflame agent`: the per-machine daemon (the base of the DaemonSet). It
 * loads the programs once, pins their maps in bpffs for services to find,
 * and on SIGTERM or SIGINT unpins them and detaches.
 */
import { chmodSync, chownSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { BPFFS, ensureBpffs } from '../kernel/environment.ts';
import { KernelSession, KernelUnavailableError, type Filter } from '../kernel/session.ts';
import { CONFIG_MAP, SHARED_MAPS } from '../kernel/shared-maps.ts';
import { parsePositive } from '../load/duration.ts';
import { UsageError } from './usage-error.ts';

export interface AgentFlags {
  pinDir: string;
  pid: string[];
  cgroup: string[];
  all?: boolean;
  pinGroup?: string;
}

/** A group name or number from /etc/group. */
export function groupId(group: string, etcGroup = '/etc/group'): number {
  if (/^\d+$/.test(group)) return Number(group);
  for (const line of readFileSync(etcGroup, 'utf8').split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new UsageError(`--pin-group: no group named "${group}" in ${etcGroup}`);
}

/**
 * Lets a group's services use the shared maps, and only those (and read the
 * config): on kernels where the bpf() map calls need no capability, access
 * to the pinned files is all a service needs.
 */
function shareWithGroup(pinDir: string, gid: number): void {
  chownSync(pinDir, 0, gid);
  chmodSync(pinDir, 0o750);
  for (const name of Object.values(SHARED_MAPS)) {
    chownSync(join(pinDir, name), 0, gid);
    chmodSync(join(pinDir, name), 0o660);
  }
  // Read-only: a service learns how sends are timed, and cannot change what is observed.
  chownSync(join(pinDir, CONFIG_MAP), 0, gid);
  chmodSync(join(pinDir, CONFIG_MAP), 0o640);
}

function filterOf(flags: AgentFlags): Filter {
  const chosen = [flags.all, flags.pid.length > 0, flags.cgroup.length > 0].filter(Boolean).length;
  if (chosen !== 1) throw new UsageError('agent: say what to observe: --all, --pid PID (repeatable) or --cgroup PATH (repeatable)');
  if (flags.all) return { kind: 'all' };
  if (flags.pid.length) return { kind: 'pids', pids: flags.pid.map((p) => parsePositive(p, '--pid', { integer: true })) };
  return { kind: 'cgroups', paths: flags.cgroup };
}

export async function agent(flags: AgentFlags): Promise<number> {
  const filter = filterOf(flags);
  if (!flags.pinDir.startsWith(`${BPFFS}/`)) throw new UsageError(`--pin-dir must be under ${BPFFS}`);
  const gid = flags.pinGroup === undefined ? undefined : groupId(flags.pinGroup);
  ensureBpffs();
  let session: KernelSession;
  try {
    session = KernelSession.open({ filter, sharedOwners: true });
  } catch (err) {
    if (err instanceof KernelUnavailableError) throw new Error(err.message);
    throw err;
  }
  try {
    session.pinMaps(flags.pinDir);
    if (gid !== undefined) shareWithGroup(flags.pinDir, gid);
    process.stdout.write(
      `${JSON.stringify({ ready: true, pinDir: flags.pinDir, hooks: Object.fromEntries(session.hooks.map((h) => [h.name, h.mode])) })}\n`,
    );
    // Signal listeners keep nothing alive: a timer holds the event loop open until one comes.
    const alive = setInterval(() => {}, 1 << 30);
    await Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT')]);
    clearInterval(alive);
  } finally {
    session.unpinMaps(flags.pinDir);
    session.close();
  }
  return 0;
}

/**
 * `wireflame agent`: the per-machine daemon (the base of the DaemonSet). It
 * loads the programs once, pins their maps in bpffs for services to find,
 * and on SIGTERM or SIGINT unpins them and detaches.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { BPFFS, bpffsMounted } from '../kernel/environment.ts';
import { KernelSession, KernelUnavailableError, type Filter } from '../kernel/session.ts';
import { parsePositive } from '../load/duration.ts';
import { UsageError } from './usage-error.ts';

export interface AgentFlags {
  pinDir: string;
  pid: string[];
  cgroup: string[];
  all?: boolean;
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
  if (!bpffsMounted()) execFileSync('mount', ['-t', 'bpf', 'bpf', BPFFS]);
  let session: KernelSession;
  try {
    session = KernelSession.open({ filter, sharedOwners: true });
  } catch (err) {
    if (err instanceof KernelUnavailableError) throw new Error(err.message);
    throw err;
  }
  mkdirSync(flags.pinDir, { recursive: true });
  try {
    session.pinMaps(flags.pinDir);
    process.stdout.write(
      `${JSON.stringify({ ready: true, pinDir: flags.pinDir, hooks: Object.fromEntries(session.hooks.map((h) => [h.name, h.mode])) })}\n`,
    );
    // Signal listeners keep nothing alive: a timer holds the event loop open until one comes.
    const alive = setInterval(() => {}, 1 << 30);
    await Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT')]);
    clearInterval(alive);
  } finally {
    session.unpinMaps(flags.pinDir);
    rmSync(flags.pinDir, { recursive: true, force: true });
    session.close();
  }
  return 0;
}

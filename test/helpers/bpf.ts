/** What the kernel has loaded, from bpftool: for tests that check nothing is left behind. */
import { execFileSync } from 'node:child_process';

export function wireflamePrograms(): string[] {
  const progs = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as { name: string }[];
  return progs.map((p) => p.name).filter((n) => n.startsWith('wf_'));
}

/** The kernel frees a detached program after an RCU grace period, not at once. */
export async function programsLeft(): Promise<string[]> {
  for (let i = 0; i < 100 && wireflamePrograms().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  return wireflamePrograms();
}

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

/** The wf_sock_slots slot a socket's state takes: the hash of state_slot in bpf/wireflame.bpf.c. */
export function stateSlot(cookie: bigint): number {
  return Number(((cookie * 0x9e3779b97f4a7c15n) & 0xffff_ffff_ffff_ffffn) >> 52n);
}

const slotKey = (slot: number) => ['key', ...[0, 1, 2, 3].map((i) => String((slot >> (8 * i)) & 0xff))];

/** The cookie of the socket holding a state slot; 0n when it is free. */
export function stateSlotHolder(slot: number): bigint {
  const out = execFileSync('bpftool', ['-j', 'map', 'lookup', 'name', 'wf_sock_slots', ...slotKey(slot)], { encoding: 'utf8' });
  const bytes = (JSON.parse(out) as { value: string[] }).value.slice(0, 8);
  return bytes.reduceRight((acc, b) => (acc << 8n) | BigInt(b), 0n);
}

/** Makes a state slot look held by `cookie` (0n frees it), its state cleared. */
export function holdStateSlot(slot: number, cookie: bigint): void {
  const map = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show', 'name', 'wf_sock_slots'], { encoding: 'utf8' })) as { bytes_value: number };
  const value = Array.from({ length: map.bytes_value }, (_, i) => String(i < 8 ? Number((cookie >> BigInt(8 * i)) & 0xffn) : 0));
  execFileSync('bpftool', ['map', 'update', 'name', 'wf_sock_slots', ...slotKey(slot), 'value', ...value]);
}

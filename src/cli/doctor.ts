/**
 * `wireflame doctor`: can this machine give Wireflame kernel data, and
 * through which attach point for each hook.
 */
import { loadNative } from '../kernel/addon.ts';
import { environmentProblem, readEnvironment, type Environment } from '../kernel/environment.ts';
import { HOOK_NAMES, chooseHooks, type HookChoice, type HookName } from '../kernel/hooks.ts';
import { hooksThatFire } from '../kernel/live-check.ts';
import { KernelSession, KernelUnavailableError, nativeProber } from '../kernel/session.ts';

export interface HookReport {
  mode: HookChoice['mode'];
  target: string;
  ok: boolean;
  /** With --live: whether the hook saw the doctor's own traffic. */
  fired?: boolean;
  notes: string[];
}

export interface DoctorReport {
  kernel: string;
  btf: boolean;
  privileged: boolean;
  bpffs: boolean;
  libbpf: string | null;
  /** One line per problem; empty when everything works. */
  problems: string[];
  hooks: Record<HookName, HookReport>;
}

function unloadedHooks(choices: HookChoice[] | null, problem: string): Record<HookName, HookReport> {
  return Object.fromEntries(
    HOOK_NAMES.map((name) => {
      const c = choices?.find((h) => h.name === name);
      return [name, { mode: c?.mode ?? 'unavailable', target: c?.target ?? '', ok: false, notes: [...(c?.notes ?? []), problem] }];
    }),
  ) as Record<HookName, HookReport>;
}

/** Probing alone, where loading cannot be tried: what would be chosen. */
function probeOnly(): { choices: HookChoice[] | null; libbpf: string | null } {
  try {
    const native = loadNative();
    return { choices: chooseHooks(nativeProber(native)), libbpf: native.libbpfVersion() };
  } catch {
    return { choices: null, libbpf: null };
  }
}

export async function doctor(live: boolean): Promise<DoctorReport> {
  const env: Environment = readEnvironment();
  const base = { kernel: env.kernel, btf: env.btf, privileged: env.privileged, bpffs: env.bpffs };
  const problem = environmentProblem(env);
  if (problem) {
    const { choices, libbpf } = probeOnly();
    return { ...base, libbpf, problems: [problem], hooks: unloadedHooks(choices, problem) };
  }
  let session: KernelSession;
  try {
    session = KernelSession.open();
  } catch (err) {
    const line = err instanceof KernelUnavailableError ? err.message : `kernel stages off: ${String(err)}`;
    const { choices, libbpf } = probeOnly();
    return { ...base, libbpf, problems: [line], hooks: unloadedHooks(choices, line) };
  }
  try {
    const fired = live ? await hooksThatFire(session) : null;
    const problems: string[] = [];
    const hooks = Object.fromEntries(
      session.hooks.map((h) => {
        const loaded = h.mode !== 'unavailable';
        const report: HookReport = { mode: h.mode, target: h.target, ok: loaded, notes: h.notes };
        if (!loaded) problems.push(`${h.name}: no usable attach point`);
        if (fired) {
          report.fired = fired[h.name];
          report.ok = loaded && fired[h.name];
          if (loaded && !fired[h.name]) problems.push(`${h.name}: attached but did not fire on loopback traffic`);
        }
        return [h.name, report];
      }),
    ) as Record<HookName, HookReport>;
    return { ...base, libbpf: loadNative().libbpfVersion(), problems, hooks };
  } finally {
    session.close();
  }
}

export function formatDoctor(report: DoctorReport): string {
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  const lines = [
    `kernel      ${report.kernel}`,
    `BTF         ${yes(report.btf)}`,
    `privileged  ${yes(report.privileged)}`,
    `bpffs       ${report.bpffs ? 'mounted' : 'not mounted (only the agent daemon needs it)'}`,
    `libbpf      ${report.libbpf ?? 'addon not loaded'}`,
    '',
    'hook          mode         ok   target',
  ];
  for (const [name, h] of Object.entries(report.hooks)) {
    const ok = h.ok ? 'ok' : 'NO';
    const fired = h.fired === undefined ? '' : h.fired ? '  (fired)' : '  (did not fire)';
    lines.push(`${name.padEnd(13)} ${h.mode.padEnd(12)} ${ok.padEnd(4)} ${h.target}${fired}`);
  }
  if (report.problems.length) lines.push('', ...report.problems.map((p) => `problem: ${p}`));
  return lines.join('\n');
}

/**
 * The logical hooks and their attach points, best first. Choosing is pure:
 * it takes a prober (the addon's trial attaches) and returns one choice per
 * hook, so the order and the fallbacks are tested without a kernel.
 */

export const HOOK_NAMES = ['tcp_sendmsg', 'ip_local_out', 'dev_xmit', 'rx_ready', 'rx_read', 'sock_close'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

export type AttachMode = 'sockops' | 'fentry' | 'kprobe' | 'tp_btf' | 'tracepoint';

/** What a candidate needs: an attach point, a kfunc, or a cgroup v2 mount to attach to. */
export type RequirementKind = 'fentry' | 'kprobe' | 'tp_btf' | 'kfunc' | 'cgroup2';

export interface Candidate {
  mode: AttachMode;
  /** Kernel function or tracepoint(s), for people. */
  target: string;
  /** Programs in bpf/wireflame.bpf.c that implement it. */
  programs: readonly string[];
  /** What must exist, each checked by the prober. */
  requires: readonly { kind: RequirementKind; name: string }[];
}

export interface HookSpec {
  name: HookName;
  /** What it measures, for doctor. */
  role: string;
  candidates: readonly Candidate[];
}

const fentry = (name: string) => ({ kind: 'fentry', name }) as const;
const kprobe = (name: string) => ({ kind: 'kprobe', name }) as const;
const tpBtf = (name: string) => ({ kind: 'tp_btf', name }) as const;

/**
 * BPF timestamping (Linux 6.14): one sockops program serves the three send
 * hooks, called back only for the sends of flagged sockets and the skbs it
 * stamped, where every other mode runs for every packet of every process.
 * It is first for that reason; the three hooks take it together or not at
 * all (they share its requirements, and a failure drops it for all three).
 */
const timestamping = (target: string): Candidate => ({
  mode: 'sockops',
  target: `BPF timestamping: ${target}`,
  programs: ['wf_tstamp_sockops', 'wf_tstamp_existing'],
  requires: [
    { kind: 'kfunc', name: 'bpf_sock_ops_enable_tx_tstamp' },
    { kind: 'kfunc', name: 'bpf_cast_to_kern_ctx' },
    { kind: 'cgroup2', name: 'root' },
  ],
});

export const HOOKS: readonly HookSpec[] = [
  {
    name: 'tcp_sendmsg',
    role: 'each send call and the sequence range its bytes take',
    candidates: [
      timestamping('sockops TSTAMP_SENDMSG'),
      { mode: 'fentry', target: 'tcp_sendmsg', programs: ['wf_sendmsg_fentry'], requires: [fentry('tcp_sendmsg')] },
      { mode: 'kprobe', target: 'tcp_sendmsg', programs: ['wf_sendmsg_kprobe'], requires: [kprobe('tcp_sendmsg')] },
      {
        mode: 'tp_btf',
        target: 'tcp:tcp_sendmsg_locked',
        programs: ['wf_sendmsg_btf'],
        requires: [tpBtf('tcp_sendmsg_locked')],
      },
    ],
  },
  {
    name: 'ip_local_out',
    role: 'bytes of a send call reach IP output',
    candidates: [
      timestamping('sockops TSTAMP_SCHED'),
      { mode: 'fentry', target: 'ip_local_out', programs: ['wf_ip_out_fentry'], requires: [fentry('ip_local_out')] },
      { mode: 'kprobe', target: 'ip_local_out', programs: ['wf_ip_out_kprobe'], requires: [kprobe('ip_local_out')] },
      {
        mode: 'tp_btf',
        target: 'net:net_dev_queue',
        programs: ['wf_dev_queue_btf'],
        requires: [tpBtf('net_dev_queue')],
      },
    ],
  },
  {
    name: 'dev_xmit',
    role: 'device queue: enqueue to transmit',
    candidates: [
      timestamping('sockops TSTAMP_SCHED + TSTAMP_SND_SW'),
      {
        mode: 'tp_btf',
        target: 'net:net_dev_queue + net:net_dev_start_xmit',
        programs: ['wf_dev_queue_btf', 'wf_dev_xmit_btf'],
        requires: [tpBtf('net_dev_queue'), tpBtf('net_dev_start_xmit')],
      },
    ],
  },
  {
    name: 'rx_ready',
    role: 'bytes become readable on a socket',
    candidates: [
      { mode: 'tp_btf', target: 'sock:sk_data_ready', programs: ['wf_rx_ready_btf'], requires: [tpBtf('sk_data_ready')] },
    ],
  },
  {
    name: 'rx_read',
    role: 'the process reads them',
    candidates: [
      {
        mode: 'tp_btf',
        target: 'sock:sock_recv_length',
        programs: ['wf_rx_read_btf'],
        requires: [tpBtf('sock_recv_length')],
      },
    ],
  },
  {
    name: 'sock_close',
    role: 'socket closes: its map entries are removed',
    candidates: [
      {
        mode: 'tp_btf',
        target: 'sock:inet_sock_set_state',
        programs: ['wf_sock_state_btf'],
        requires: [tpBtf('inet_sock_set_state')],
      },
    ],
  },
];

export type Prober = (kind: RequirementKind, name: string) => true | string;

export interface HookChoice {
  name: HookName;
  mode: AttachMode | 'unavailable';
  target: string;
  programs: readonly string[];
  /** Why better modes were passed over, and why none fit when unavailable. */
  notes: string[];
}

/**
 * One choice per hook: the first candidate whose requirements all hold and
 * that is not in `failed` (candidates that already failed to load or attach,
 * with the reason).
 */
export function chooseHooks(probe: Prober, failed: ReadonlyMap<string, string> = new Map()): HookChoice[] {
  const memo = new Map<string, true | string>();
  const check = (kind: RequirementKind, name: string) => {
    const key = `${kind}:${name}`;
    if (!memo.has(key)) memo.set(key, probe(kind, name));
    return memo.get(key) as true | string;
  };
  return HOOKS.map((hook) => {
    const notes: string[] = [];
    for (const c of hook.candidates) {
      const failure = failed.get(candidateKey(hook.name, c));
      if (failure !== undefined) {
        notes.push(`${c.mode} ${c.target}: ${failure}`);
        continue;
      }
      const failures = c.requires
        .map((r) => ({ r, result: check(r.kind, r.name) }))
        .filter((x) => x.result !== true)
        .map((x) => `${x.r.kind} ${x.r.name}: ${x.result as string}`);
      if (failures.length === 0) return { name: hook.name, mode: c.mode, target: c.target, programs: c.programs, notes };
      notes.push(...failures);
    }
    return { name: hook.name, mode: 'unavailable', target: '', programs: [], notes };
  });
}

export function candidateKey(hook: HookName, c: { mode: string }): string {
  return `${hook}/${c.mode}`;
}

/** Programs to load: those of every chosen candidate; the rest stay off. */
export function programsToLoad(choices: readonly HookChoice[]): Set<string> {
  return new Set(choices.flatMap((c) => c.programs));
}

/** Kprobes cannot use socket storage: when one is chosen, every hook keeps socket state in a hash. */
export function stateInHash(choices: readonly HookChoice[]): boolean {
  return choices.some((c) => c.mode === 'kprobe');
}

/**
 * Each send call's device-queue stage ends when the driver takes its last
 * byte: with timestamping (the driver's stamp), and with the tracepoints
 * when net_dev_queue matches the calls. With ip_local_out hooked (fentry,
 * kprobe) the device queue times skbs instead.
 */
export function sendEndsAtDriver(choices: readonly HookChoice[]): boolean {
  return choices.some((c) => c.name === 'dev_xmit' && c.mode === 'sockops') || matchAtDevQueue(choices);
}

/** ip_local_out fell back to net_dev_queue, which must then match sends. */
export function matchAtDevQueue(choices: readonly HookChoice[]): boolean {
  return choices.some((c) => c.name === 'ip_local_out' && c.mode === 'tp_btf');
}

// Attach-point choice: best mode first, per hook, with the reasons kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HOOKS,
  candidateKey,
  chooseHooks,
  matchAtDevQueue,
  programsToLoad,
  sendEndsAtDriver,
  stateInHash,
  type Prober,
} from '../src/kernel/hooks.ts';

const everything: Prober = () => true;
/** A kernel before BPF timestamping (6.14): no kfunc to stamp a send with. */
const noTimestamping: Prober = (kind) => (kind === 'kfunc' ? 'ENOENT' : true);
/** These machines: timestamping and tp_btf; fentry refused, no kprobes. */
const thisMachine: Prober = (kind) => (kind === 'fentry' ? 'EPERM' : kind === 'kprobe' ? 'EOPNOTSUPP' : true);
const olderMachine: Prober = (kind, name) => (kind === 'kfunc' ? 'ENOENT' : thisMachine(kind, name));
const SEND_HOOKS = ['tcp_sendmsg', 'ip_local_out', 'dev_xmit'];

test('where the kernel stamps sends for BPF, one sockops program serves the three send hooks', () => {
  for (const probe of [everything, thisMachine]) {
    const choices = chooseHooks(probe);
    for (const c of choices) assert.equal(c.mode, SEND_HOOKS.includes(c.name) ? 'sockops' : 'tp_btf', c.name);
    assert.deepEqual([...programsToLoad(choices)].filter((p) => !p.endsWith('_btf')), ['wf_tstamp_sockops', 'wf_tstamp_existing']);
    assert.ok(!matchAtDevQueue(choices) && !stateInHash(choices));
    assert.ok(sendEndsAtDriver(choices), "the driver's stamp ends each call's device-queue stage");
  }
});

test('timestamping needs a cgroup v2 mount to attach to', () => {
  const noCgroup2: Prober = (kind) => (kind === 'cgroup2' ? 'no cgroup v2 mount' : true);
  const send = chooseHooks(noCgroup2).find((c) => c.name === 'tcp_sendmsg')!;
  assert.equal(send.mode, 'fentry');
  assert.deepEqual(send.notes, ['cgroup2 root: no cgroup v2 mount']);
});

test('without timestamping, fentry wins where it exists', () => {
  const byName = Object.fromEntries(chooseHooks(noTimestamping).map((c) => [c.name, c]));
  assert.equal(byName.tcp_sendmsg?.mode, 'fentry');
  assert.equal(byName.ip_local_out?.mode, 'fentry');
  assert.equal(byName.dev_xmit?.mode, 'tp_btf');
  assert.ok(!matchAtDevQueue(chooseHooks(noTimestamping)), 'ip_local_out matches sends itself');
  assert.ok(!sendEndsAtDriver(chooseHooks(noTimestamping)), 'and the device queue times skbs, not calls');
});

test('without timestamping, fentry and kprobes, every hook falls back to tp_btf and says why', () => {
  const choices = chooseHooks(olderMachine);
  for (const c of choices) assert.equal(c.mode, 'tp_btf', c.name);
  const send = choices.find((c) => c.name === 'tcp_sendmsg')!;
  assert.deepEqual(send.notes, [
    'kfunc bpf_sock_ops_enable_tx_tstamp: ENOENT',
    'kfunc bpf_cast_to_kern_ctx: ENOENT',
    'fentry tcp_sendmsg: EPERM',
    'kprobe tcp_sendmsg: EOPNOTSUPP',
  ]);
  assert.ok(matchAtDevQueue(choices), 'net_dev_queue must match sends when ip_local_out is not hooked');
  assert.ok(sendEndsAtDriver(choices), 'and so times each call through the device queue');
  assert.ok(!stateInHash(choices), 'tracing programs keep socket state in slots or socket storage');
});

test('kprobes are the second choice after fentry', () => {
  const noFentry: Prober = (kind, name) => (kind === 'fentry' ? 'EPERM' : noTimestamping(kind, name));
  assert.equal(chooseHooks(noFentry).find((c) => c.name === 'tcp_sendmsg')?.mode, 'kprobe');
  assert.ok(stateInHash(chooseHooks(noFentry)), 'with a kprobe, all hooks share the hash');
});

test('a candidate that failed to load is skipped on the retry, with the reason', () => {
  const failed = new Map([
    ...SEND_HOOKS.map((h) => [candidateKey(h as 'tcp_sendmsg', { mode: 'sockops' }), 'failed to load (EINVAL)'] as const),
    [candidateKey('tcp_sendmsg', { mode: 'fentry' }), 'failed to load (EPERM)'],
  ]);
  const choices = chooseHooks(everything, failed);
  const send = choices.find((c) => c.name === 'tcp_sendmsg')!;
  assert.equal(send.mode, 'kprobe');
  assert.deepEqual(send.notes, [
    'sockops BPF timestamping: sockops TSTAMP_SENDMSG: failed to load (EINVAL)',
    'fentry tcp_sendmsg: failed to load (EPERM)',
  ]);
  assert.equal(choices.find((c) => c.name === 'dev_xmit')?.mode, 'tp_btf');
});

test('a hook with no usable candidate is unavailable and loads no program', () => {
  const noRx: Prober = (_kind, name) => (name === 'sk_data_ready' ? 'ENOENT' : true);
  const choices = chooseHooks(noRx);
  const rx = choices.find((c) => c.name === 'rx_ready')!;
  assert.equal(rx.mode, 'unavailable');
  assert.deepEqual(rx.notes, ['tp_btf sk_data_ready: ENOENT']);
  assert.ok(!programsToLoad(choices).has('wf_rx_ready_btf'));
});

test('only the chosen programs load', () => {
  const load = programsToLoad(chooseHooks(olderMachine));
  const all = HOOKS.flatMap((h) => h.candidates.flatMap((c) => c.programs));
  for (const p of all) assert.equal(load.has(p), p.endsWith('_btf'), p);
});

// Attach-point choice: best mode first, per hook, with the reasons kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HOOKS,
  candidateKey,
  chooseHooks,
  matchAtDevQueue,
  programsToLoad,
  stateInHash,
  type Prober,
} from '../src/kernel/hooks.ts';

const everything: Prober = () => true;
const thisMachine: Prober = (kind) => (kind === 'tp_btf' ? true : kind === 'fentry' ? 'EPERM' : 'EOPNOTSUPP');

test('with everything available, fentry wins where it exists', () => {
  const byName = Object.fromEntries(chooseHooks(everything).map((c) => [c.name, c]));
  assert.equal(byName.tcp_sendmsg?.mode, 'fentry');
  assert.equal(byName.ip_local_out?.mode, 'fentry');
  assert.equal(byName.dev_xmit?.mode, 'tp_btf');
  assert.ok(!matchAtDevQueue(chooseHooks(everything)), 'ip_local_out matches sends itself');
});

test('without fentry and kprobes, every hook falls back to tp_btf and says why', () => {
  const choices = chooseHooks(thisMachine);
  for (const c of choices) assert.equal(c.mode, 'tp_btf', c.name);
  const send = choices.find((c) => c.name === 'tcp_sendmsg')!;
  assert.deepEqual(send.notes, ['fentry tcp_sendmsg: EPERM', 'kprobe tcp_sendmsg: EOPNOTSUPP']);
  assert.ok(matchAtDevQueue(choices), 'net_dev_queue must match sends when ip_local_out is not hooked');
  assert.ok(!stateInHash(choices), 'tracing programs keep socket state in socket storage');
});

test('kprobes are the second choice', () => {
  const noFentry: Prober = (kind) => (kind === 'fentry' ? 'EPERM' : true);
  assert.equal(chooseHooks(noFentry).find((c) => c.name === 'tcp_sendmsg')?.mode, 'kprobe');
  assert.ok(stateInHash(chooseHooks(noFentry)), 'with a kprobe, all hooks share the hash');
});

test('a candidate that failed to load is skipped on the retry, with the reason', () => {
  const failed = new Map([[candidateKey('tcp_sendmsg', { mode: 'fentry' }), 'failed to load (EPERM)']]);
  const send = chooseHooks(everything, failed).find((c) => c.name === 'tcp_sendmsg')!;
  assert.equal(send.mode, 'kprobe');
  assert.deepEqual(send.notes, ['fentry tcp_sendmsg: failed to load (EPERM)']);
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
  const load = programsToLoad(chooseHooks(thisMachine));
  const all = HOOKS.flatMap((h) => h.candidates.flatMap((c) => c.programs));
  for (const p of all) assert.equal(load.has(p), p.endsWith('_btf'), p);
});

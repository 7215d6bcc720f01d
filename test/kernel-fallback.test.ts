// Choosing attach points by trial: when the probe says fentry and kprobes
// are there but the kernel refuses them (as this machine's does: fentry
// fails to load with EPERM, kprobes cannot attach), each hook falls back to
// the next mode, says why, and measures all the same. This kernel has BPF
// timestamping, which comes first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelSession } from '../src/kernel/session.ts';
import { hooksThatFire } from '../src/kernel/live-check.ts';

test('refused modes fall back one by one to tp_btf, with the reasons kept', async () => {
  // Timestamping taken away (it loads here), fentry and kprobes claimed.
  const session = KernelSession.open({ prober: (kind) => (kind === 'kfunc' ? 'ENOENT' : true) });
  try {
    const send = session.hooks.find((h) => h.name === 'tcp_sendmsg')!;
    const out = session.hooks.find((h) => h.name === 'ip_local_out')!;
    for (const hook of [send, out]) {
      assert.equal(hook.mode, 'tp_btf', hook.name);
      assert.equal(hook.notes.length, 4, hook.notes.join('; '));
      assert.match(hook.notes[2]!, /^fentry .*: failed to (load|attach)/);
      assert.match(hook.notes[3]!, /^kprobe .*: failed to (load|attach)/);
    }
    assert.ok(!session.attached.some((p) => /fentry|kprobe|sockops/.test(p)), 'no refused program stays attached');
    const fired = await hooksThatFire(session);
    assert.deepEqual(Object.values(fired), Object.values(fired).map(() => true), JSON.stringify(fired));
  } finally {
    session.close();
  }
});

test('where the kernel stamps sends, the three send hooks take timestamping before any refused mode is tried', async () => {
  const session = KernelSession.open({ prober: () => true });
  try {
    for (const hook of session.hooks) {
      assert.equal(hook.mode, ['tcp_sendmsg', 'ip_local_out', 'dev_xmit'].includes(hook.name) ? 'sockops' : 'tp_btf', hook.name);
      assert.deepEqual(hook.notes, [], hook.name);
    }
    const fired = await hooksThatFire(session);
    assert.deepEqual(Object.values(fired), Object.values(fired).map(() => true), JSON.stringify(fired));
  } finally {
    session.close();
  }
});

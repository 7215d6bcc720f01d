// Choosing attach points by trial: when the probe says fentry and kprobes
// are there but the kernel refuses them (as this machine's does: fentry
// fails to load with EPERM, kprobes cannot attach), each hook falls back to
// the next mode, says why, and measures all the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelSession } from '../src/kernel/session.ts';
import { hooksThatFire } from '../src/kernel/live-check.ts';

test('refused modes fall back one by one to tp_btf, with the reasons kept', async () => {
  const session = KernelSession.open({ prober: () => true });
  try {
    const send = session.hooks.find((h) => h.name === 'tcp_sendmsg')!;
    const out = session.hooks.find((h) => h.name === 'ip_local_out')!;
    for (const hook of [send, out]) {
      assert.equal(hook.mode, 'tp_btf', hook.name);
      assert.equal(hook.notes.length, 2, hook.notes.join('; '));
      assert.match(hook.notes[0]!, /^fentry .*: failed to (load|attach)/);
      assert.match(hook.notes[1]!, /^kprobe .*: failed to (load|attach)/);
    }
    assert.ok(!session.attached.some((p) => /fentry|kprobe/.test(p)), 'no refused program stays attached');
    const fired = await hooksThatFire(session);
    assert.deepEqual(Object.values(fired), Object.values(fired).map(() => true), JSON.stringify(fired));
  } finally {
    session.close();
  }
});

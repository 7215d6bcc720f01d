// What the machine offers, read from /proc: capabilities, bpffs, and the one
// line that says what is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bpffsMounted, effectiveCapabilities, environmentProblem, missingCapabilities } from '../src/kernel/environment.ts';

const CAP_SYS_ADMIN = 1n << 21n;
const CAP_PERFMON = 1n << 38n;
const CAP_BPF = 1n << 39n;

test('capabilities come from CapEff; CAP_SYS_ADMIN alone, or CAP_BPF with CAP_PERFMON, suffice', () => {
  assert.equal(effectiveCapabilities('Name:\tnode\nCapEff:\t000001ffffffffff\n'), 0x1ffffffffffn);
  assert.deepEqual(missingCapabilities(CAP_SYS_ADMIN), []);
  assert.deepEqual(missingCapabilities(CAP_BPF | CAP_PERFMON), []);
  assert.deepEqual(missingCapabilities(CAP_BPF), ['CAP_PERFMON']);
  assert.deepEqual(missingCapabilities(0n), ['CAP_BPF', 'CAP_PERFMON']);
});

test('bpffs is recognized at /sys/fs/bpf only with the bpf type', () => {
  assert.equal(bpffsMounted('bpf /sys/fs/bpf bpf rw,relatime 0 0\n'), true);
  assert.equal(bpffsMounted('tmpfs /sys/fs/bpf tmpfs rw 0 0\nbpf /other bpf rw 0 0\n'), false);
});

test('the problem line names what is missing, privileges first', () => {
  const base = { kernel: '6.1', btf: true, privileged: true, missingCapabilities: [], bpffs: false };
  assert.equal(environmentProblem(base), null);
  assert.equal(
    environmentProblem({ ...base, btf: false }),
    'kernel stages off: no BTF at /sys/kernel/btf/vmlinux (needs a kernel built with CONFIG_DEBUG_INFO_BTF)',
  );
  assert.equal(
    environmentProblem({ ...base, btf: false, privileged: false, missingCapabilities: ['CAP_BPF'] }),
    'kernel stages off: missing CAP_BPF (run as root or grant them)',
  );
});

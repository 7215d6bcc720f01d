// A BPF_F_MMAPABLE array mapped into the process is the same memory the
// kernel sees: what JavaScript stores, bpf() reads, and the other way round.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNative } from '../src/kernel/addon.ts';

const BPF_MAP_TYPE_ARRAY = 2;
const BPF_F_MMAPABLE = 1 << 10;

test('stores through the mapping and bpf() map operations see each other', () => {
  const native = loadNative();
  const fd = native.mapCreate(BPF_MAP_TYPE_ARRAY, 4, 16, 128, BPF_F_MMAPABLE);
  try {
    const words = new BigUint64Array(native.mapMmap(fd, 16 * 128));
    const key = Buffer.alloc(4);
    key.writeUInt32LE(5);
    words[5 * 2] = 0x1122334455667788n;
    words[5 * 2 + 1] = 42n;
    const seen = native.mapLookup(fd, key, 16)!;
    assert.equal(seen.readBigUInt64LE(0), 0x1122334455667788n);
    assert.equal(seen.readBigUInt64LE(8), 42n);

    const value = Buffer.alloc(16);
    value.writeBigUInt64LE(7n, 0);
    value.writeBigUInt64LE(9n, 8);
    key.writeUInt32LE(100);
    native.mapUpdate(fd, key, value);
    assert.equal(words[200], 7n);
    assert.equal(words[201], 9n);
  } finally {
    native.closeFd(fd);
  }
});

test('a map without BPF_F_MMAPABLE cannot be mapped, and says why', () => {
  const native = loadNative();
  const fd = native.mapCreate(BPF_MAP_TYPE_ARRAY, 4, 16, 4, 0);
  try {
    assert.throws(() => native.mapMmap(fd, 64), /^Error: mmap map: Invalid argument \(EINVAL\)$/);
  } finally {
    native.closeFd(fd);
  }
});

/**
 * What it costs user space to talk to the programs per request: a bpf()
 * syscall per map update or lookup-and-delete, against plain loads and
 * stores in a BPF_F_MMAPABLE array mapped into the process (the way the
 * per-request budget of about 0.65 us can be kept).
 *
 *   node bench/shared-memory.ts [--ops 200000]
 */
import { parseArgs } from 'node:util';
import { loadNative } from '../src/kernel/addon.ts';

const BPF_MAP_TYPE_ARRAY = 2;
const BPF_MAP_TYPE_LRU_HASH = 9;
const BPF_F_MMAPABLE = 1 << 10;

const { values } = parseArgs({ options: { ops: { type: 'string', default: '200000' } } });
const ops = Number(values.ops);
const native = loadNative();

function perOp(run: () => void): number {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / ops;
}

const hash = native.mapCreate(BPF_MAP_TYPE_LRU_HASH, 8, 32, 65536, 0);
const key = Buffer.alloc(8);
const value = Buffer.alloc(32, 7);
const update = perOp(() => {
  for (let i = 0; i < ops; i++) {
    key.writeBigUInt64LE(BigInt(i & 0xffff));
    native.mapUpdate(hash, key, value);
  }
});
const takeOut = perOp(() => {
  for (let i = 0; i < ops; i++) {
    key.writeBigUInt64LE(BigInt(i & 0xffff));
    native.mapLookupAndDelete(hash, key, 32);
  }
});

const SLOT = 64;
const SLOTS = 65536;
const array = native.mapCreate(BPF_MAP_TYPE_ARRAY, 4, SLOT, SLOTS, BPF_F_MMAPABLE);
const shared = new BigUint64Array(native.mapMmap(array, SLOT * SLOTS));
const words = SLOT / 8;
const store = perOp(() => {
  for (let i = 0; i < ops; i++) {
    const base = (i & (SLOTS - 1)) * words;
    shared[base] = BigInt(i); // generation
    shared[base + 1] = 0x0af7651916cd43ddn; // trace id, high
    shared[base + 2] = 0x8448eb211c80319cn; // trace id, low
    shared[base + 3] = 0xb7ad6b7169203331n; // span id
  }
});
let sum = 0n;
const load = perOp(() => {
  for (let i = 0; i < ops; i++) {
    const base = (i & (SLOTS - 1)) * words;
    sum += shared[base + 4]! + shared[base + 5]! + shared[base + 6]! + shared[base + 7]!;
  }
});
native.closeFd(hash);
native.closeFd(array);

console.log(`${ops} operations each`);
console.log(`bpf() map update (owner write):              ${update.toFixed(0)} ns`);
console.log(`bpf() lookup-and-delete (span read at end):  ${takeOut.toFixed(0)} ns`);
console.log(`mmap'd array, owner write (4 stores):        ${store.toFixed(1)} ns`);
console.log(`mmap'd array, aggregate read (4 loads):      ${load.toFixed(1)} ns (checksum ${sum})`);

// Kernel structs to plain objects and back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeEvents,
  decodeSpanStats,
  encodeOwner,
  encodeOwnerKey,
  perCpuSlices,
  sumCounters,
  sumHistograms,
} from '../src/kernel/codec.ts';
import { COUNTERS, EVENT, HIST, HIST_SLOTS, OWNER, SPAN_STATS, STAGE_AGG } from '../src/kernel/layout.ts';

const traceId = '0af7651916cd43dd8448eb211c80319c';
const spanId = 'b7ad6b7169203331';

test('an owner encodes trace id, span id and the server flag', () => {
  const buf = encodeOwner({ traceId, spanId, server: true });
  assert.equal(buf.length, OWNER.size);
  assert.equal(buf.subarray(0, 16).toString('hex'), traceId);
  assert.equal(buf.subarray(16, 24).toString('hex'), spanId);
  assert.equal(buf.readUInt32LE(OWNER.fields.flags.offset), 1);
  assert.deepEqual(encodeOwnerKey({ traceId, spanId }), buf.subarray(0, 24));
});

test('malformed ids are refused', () => {
  assert.throws(() => encodeOwner({ traceId: 'xyz', spanId }), /trace id must be 32/);
  assert.throws(() => encodeOwner({ traceId, spanId: spanId.toUpperCase() }), /span id must be 16/);
});

function eventBuffer(fill: (b: Buffer) => void): Buffer {
  const b = Buffer.alloc(EVENT.size);
  fill(b);
  return b;
}

test('events decode with addresses, ports and owner', () => {
  const f = EVENT.fields;
  const v4 = eventBuffer((b) => {
    b.writeBigUInt64LE(123n, f.ts_ns.offset);
    b.writeBigUInt64LE(4567n, f.duration_ns.offset);
    b.writeBigUInt64LE(99n, f.cookie.offset);
    Buffer.from(traceId, 'hex').copy(b, f.trace_id.offset);
    Buffer.from(spanId, 'hex').copy(b, f.span_id.offset);
    b.writeUInt32LE(1000, f.bytes.offset);
    b.writeUInt32LE(0xfffffff0, f.seq.offset);
    b.writeUInt32LE(1000 - 0x10, f.seq_end.offset);
    Buffer.from([127, 0, 0, 1]).copy(b, f.saddr.offset);
    Buffer.from([10, 1, 2, 3]).copy(b, f.daddr.offset);
    b.writeUInt16LE(8080, f.sport.offset);
    b.writeUInt16LE(51000, f.dport.offset);
    b.writeUInt16LE(2, f.family.offset);
    b.writeUInt8(2, f.stage.offset);
  });
  const v6 = eventBuffer((b) => {
    b.writeUInt16LE(10, f.family.offset);
    b[f.saddr.offset + 15] = 1;
    b.writeUInt8(0, f.stage.offset);
  });
  const [a, c] = decodeEvents(Buffer.concat([v4, v6]));
  assert.deepEqual(a, {
    stage: 'tx_send',
    tsNs: 123n,
    durationNs: 4567n,
    cookie: 99n,
    traceId,
    spanId,
    tgid: 0,
    bytes: 1000,
    seq: 0xfffffff0,
    seqEnd: 1000 - 0x10,
    family: 'ipv4',
    saddr: '127.0.0.1',
    daddr: '10.1.2.3',
    sport: 8080,
    dport: 51000,
  });
  assert.equal(c?.stage, 'rx_queue');
  assert.equal(c?.saddr, '::1');
  assert.equal(c?.traceId, '', 'no owner');
});

test('an unknown stage is an error, not a silent default', () => {
  const bad = eventBuffer((b) => b.writeUInt8(9, EVENT.fields.stage.offset));
  assert.throws(() => decodeEvents(bad), /unknown stage 9/);
});

test('per-CPU counters and histograms are summed across CPUs', () => {
  const cpus = 3;
  const stride = Math.ceil(COUNTERS.size / 8) * 8;
  const counters = Buffer.alloc(stride * cpus);
  const hist = Buffer.alloc(HIST.size * cpus);
  for (let cpu = 0; cpu < cpus; cpu++) {
    counters.writeBigUInt64LE(BigInt(cpu + 1), cpu * stride + COUNTERS.fields.hits.offset);
    counters.writeBigUInt64LE(5n, cpu * stride + COUNTERS.fields.event_drops.offset);
    counters.writeBigUInt64LE(7n, cpu * stride + COUNTERS.fields.late.offset);
    hist.writeBigUInt64LE(2n, cpu * HIST.size + (1 * HIST_SLOTS + 10) * 8);
    hist.writeBigUInt64LE(1000n, cpu * HIST.size + HIST.fields.sum_ns.offset + 8);
  }
  const c = sumCounters(perCpuSlices(counters, COUNTERS.size, cpus));
  assert.equal(c.hits, 6n);
  assert.equal(c.eventDrops, 15n);
  assert.equal(c.late, 21n);
  const h = sumHistograms(perCpuSlices(hist, HIST.size, cpus));
  assert.equal(h.tx_first.slots[10], 6n);
  assert.equal(h.tx_first.sumNs, 3000n);
  assert.equal(h.rx_queue.slots[10], 0n);
  assert.equal(h.rx_queue.sumNs, 0n);
});

test('span stats decode per stage', () => {
  const buf = Buffer.alloc(SPAN_STATS.size);
  buf.writeBigUInt64LE(700n, 3 * STAGE_AGG.size + STAGE_AGG.fields.sum_ns.offset);
  buf.writeBigUInt64LE(2n, 3 * STAGE_AGG.size + STAGE_AGG.fields.count.offset);
  const s = decodeSpanStats(buf);
  assert.equal(s.dev_queue.sumNs, 700);
  assert.equal(s.dev_queue.count, 2);
  assert.equal(s.rx_queue.count, 0);
});

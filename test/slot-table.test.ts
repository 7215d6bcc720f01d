// The slot table's side of the protocol in bpf/wireflame.h, over plain memory
// laid out as the kernel lays it out (the kernel's side is in kernel-loopback
// and trace-otlp).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { SLOT, SLOTS, STAGE_AGG, STAGES } from '../src/kernel/layout.ts';
import { SLOT_TABLE_BYTES, SlotTable } from '../src/kernel/slot-table.ts';
import { SpanId, TraceId, idWords } from '../src/trace/trace-context.ts';

const ids = (trace: TraceId, span: SpanId): Uint32Array => {
  const words = new Uint32Array(6);
  idWords(trace, span, words);
  return words;
};

const u64 = (view: DataView, offset: number, value: number) => view.setBigUint64(offset, BigInt(value), true);

/** Writes a stage aggregate where the kernel would, tagged with the slot's generation as the kernel tags it. */
function kernelAdds(view: DataView, slot: number, stage: number, agg: { sum: number; count: number; bytes: number; first: number; last: number }) {
  const base = slot * SLOT.size + SLOT.fields.stage.offset + stage * STAGE_AGG.size;
  const gen = view.getUint32(slot * SLOT.size + SLOT.fields.gen.offset, true);
  view.setBigUint64(slot * SLOT.size + SLOT.fields.stage_gen.offset + stage * 8, BigInt(gen), true);
  const f = STAGE_AGG.fields;
  u64(view, base + f.sum_ns.offset, agg.sum);
  u64(view, base + f.max_ns.offset, agg.sum);
  u64(view, base + f.count.offset, agg.count);
  u64(view, base + f.bytes.offset, agg.bytes);
  u64(view, base + f.first_ns.offset, agg.first);
  u64(view, base + f.last_ns.offset, agg.last);
}

test('an owner change writes the ids and a new generation; a read under an old generation finds nothing', () => {
  const memory = new ArrayBuffer(SLOT_TABLE_BYTES);
  const view = new DataView(memory);
  const table = new SlotTable(memory);
  const cookie = 3n * BigInt(SLOTS) + 5n;
  const slot = table.claim(cookie);
  assert.equal(slot, 5);
  assert.equal(table.claim(cookie + BigInt(SLOTS)), -1, 'another live socket with the same slot goes to the hash');

  for (let i = 0; i < 50; i++) {
    // Ids made here, whose digits come later, and ids from elsewhere (a traceparent's), which are decoded.
    const trace = i % 2 ? TraceId.random() : TraceId.fromHex(randomBytes(16).toString('hex'));
    const span = i % 3 ? SpanId.random() : SpanId.fromHex(randomBytes(8).toString('hex'));
    const gen = table.setOwner(slot, ids(trace, span), true);
    const base: number = slot * SLOT.size;
    assert.equal(Buffer.from(memory, base + SLOT.fields.trace_id.offset, 16).toString('hex'), trace.toHex());
    assert.equal(Buffer.from(memory, base + SLOT.fields.span_id.offset, 8).toString('hex'), span.toHex());
    assert.equal(view.getUint32(base + SLOT.fields.gen.offset, true), gen);
    assert.equal(table.read(slot, gen), null, 'a new owner starts with no stages');
  }

  const gen = table.setOwner(slot, ids(TraceId.random(), SpanId.random()), false);
  // Monotonic ns of a machine up for 100 days: still exact as a number.
  const first = 100 * 86_400e9 + 123;
  kernelAdds(view, slot, STAGES.indexOf('tx_send'), { sum: 2_500, count: 2, bytes: 70_000, first, last: first + 4_001 });
  const read = table.read(slot, gen);
  assert.deepEqual(read?.tx_send, { sumNs: 2_500, maxNs: 2_500, count: 2, bytes: 70_000, firstNs: first, lastNs: first + 4_001 });
  assert.deepEqual(
    STAGES.filter((s) => read?.[s] !== undefined),
    ['tx_send'],
  );
  assert.equal(table.read(slot, gen - 1), null);
  const next = table.setOwner(slot, ids(TraceId.random(), SpanId.random()), false);
  assert.notEqual(next, gen);
  assert.equal(table.read(slot, gen), null, 'the stages stay with the owner they were added under');
  // The old owner's aggregate is still in the slot (the kernel clears it at its first add under the new generation).
  const txSend = STAGES.indexOf('tx_send');
  const countAt = slot * SLOT.size + SLOT.fields.stage.offset + txSend * STAGE_AGG.size + STAGE_AGG.fields.count.offset;
  assert.equal(view.getBigUint64(countAt, true), 2n);
  assert.equal(table.read(slot, next), null, 'a new owner does not read what an earlier owner left');
  kernelAdds(view, slot, STAGES.indexOf('rx_queue'), { sum: 900, count: 1, bytes: 80, first, last: first + 900 });
  assert.deepEqual(
    STAGES.filter((s) => table.read(slot, next)?.[s] !== undefined),
    ['rx_queue'],
    'only the stages added under its own generation',
  );
});

test('a finished request reads its sent bytes and its last stage end in place, as read() would give them', () => {
  const memory = new ArrayBuffer(SLOT_TABLE_BYTES);
  const view = new DataView(memory);
  const table = new SlotTable(memory);
  const slot = table.claim(7n);
  const gen = table.setOwner(slot, ids(TraceId.random(), SpanId.random()), true);
  assert.equal(table.stageBytes(slot, gen, 'tx_send'), 0);
  assert.equal(table.lastEndNs(slot, gen), 0);

  const first = 100 * 86_400e9 + 7;
  kernelAdds(view, slot, STAGES.indexOf('rx_queue'), { sum: 500, count: 1, bytes: 300, first, last: first + 500 });
  kernelAdds(view, slot, STAGES.indexOf('tx_send'), { sum: 2_000, count: 3, bytes: 5_000_000_000, first: first + 900, last: first + 9_000 });
  kernelAdds(view, slot, STAGES.indexOf('dev_queue'), { sum: 10, count: 1, bytes: 1_000, first: first + 800, last: first + 810 });
  const read = table.read(slot, gen)!;
  assert.equal(table.stageBytes(slot, gen, 'tx_send'), read.tx_send?.bytes);
  assert.equal(table.stageBytes(slot, gen, 'tx_send'), 5_000_000_000, 'bytes past 32 bits');
  assert.equal(table.stageBytes(slot, gen, 'dev_queue'), 1_000);
  assert.equal(table.lastEndNs(slot, gen), first + 9_000, 'the latest of all its stages, not the last in stage order');

  // The next owner's: nothing of the last one's, until the kernel adds under its generation.
  const next = table.setOwner(slot, ids(TraceId.random(), SpanId.random()), true);
  assert.equal(table.stageBytes(slot, next, 'tx_send'), 0);
  assert.equal(table.lastEndNs(slot, next), 0);
  assert.equal(table.stageBytes(slot, gen, 'tx_send'), 0, 'an old generation reads nothing once the slot moved on');
  kernelAdds(view, slot, STAGES.indexOf('tx_first'), { sum: 40, count: 1, bytes: 100, first: first + 20_000, last: first + 20_040 });
  assert.equal(table.lastEndNs(slot, next), first + 20_040);
});

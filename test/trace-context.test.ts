// W3C traceparent: honoured when valid, ignored (a new trace starts) when not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanId, TraceId, formatTraceparent, newSpanId, parseTraceparent } from '../src/trace/trace-context.ts';

test('a valid traceparent is parsed, and formats back the same', () => {
  const header = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const ctx = parseTraceparent(header);
  assert.deepEqual(ctx, { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: true });
  assert.equal(formatTraceparent(ctx!), header);
  assert.equal(parseTraceparent(' 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00 ')?.sampled, false);
  // A later version may carry more fields.
  assert.ok(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra'));
});

test('invalid traceparents are ignored', () => {
  for (const bad of [
    undefined,
    '',
    'garbage',
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
    '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01',
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01',
  ]) {
    assert.equal(parseTraceparent(bad), null, String(bad));
  }
});

test('fresh ids are hex of the right length and do not repeat', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    const t = TraceId.random().toHex();
    const s = newSpanId();
    assert.match(t, /^[0-9a-f]{32}$/);
    assert.match(s, /^[0-9a-f]{16}$/);
    seen.add(t);
  }
  assert.equal(seen.size, 10_000);
});

test('ids read back as the digits they were made from, and the words their digits spell', () => {
  for (const hex of ['4bf92f3577b34da6a3ce929d0e0e4736', '00000000000000000000000000000001', 'ffffffffffffffffffffffffffffffff']) {
    const id = TraceId.fromHex(hex);
    assert.equal(new TraceId(id.w0, id.w1, id.w2, id.w3).toHex(), hex);
  }
  for (const hex of ['00f067aa0ba902b7', '8000000000000000', 'ffffffffffffffff']) {
    const id = SpanId.fromHex(hex);
    assert.equal(new SpanId(id.w0, id.w1).toHex(), hex);
  }
  const id = TraceId.random();
  assert.equal(TraceId.fromHex(id.toHex()).w3, id.w3);
});

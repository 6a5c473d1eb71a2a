import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEncodedEvents, encodedRecord, EncodedEventsBuilder } from '../../src/core/encoded-events.ts';
import { envelopeToJson, type Envelope } from '../../src/core/change-event.ts';
import { Timestamp } from '../../src/core/values.ts';

const event = (i: number, text: string): Envelope => ({
  op: 'insert',
  source: { kind: 'test', name: 's', database: 'd', schema: 'public', table: i % 2 === 0 ? 'a' : 'b', position: String(i).padStart(8, '0'), commitTime: new Timestamp(BigInt(i), true) },
  key: { id: i }, before: null, after: { id: i, text }, schemaVersion: 1,
});

test('the builder packs records back to back, grows, takes and truncates', () => {
  const b = new EncodedEventsBuilder(16);
  const texts = ['plain', 'é中😀', '"quoted"\n', 'x'.repeat(5000)];
  const events = Array.from({ length: 40 }, (_, i) => event(i, texts[i % texts.length]!));
  for (const e of events.slice(0, 30)) b.add(envelopeToJson(e), `k${e.source.position}`, e.source.position, (e as { source: { table: string } }).source.table);
  b.truncate(25);
  assert.equal(b.count, 25);
  assert.equal(b.lastPosition, events[24]!.source.position);
  for (const e of events.slice(25, 40)) b.add(envelopeToJson(e), `k${e.source.position}`, e.source.position, (e as { source: { table: string } }).source.table);
  const out = b.take();
  assert.equal(out.count, 40);
  assert.equal(b.count, 0, 'take starts a new batch');
  for (let i = 0; i < 40; i++) {
    assert.equal(encodedRecord(out, i).toString('utf8'), envelopeToJson(events[i]!));
    assert.equal(out.partitionKeys[i], `k${events[i]!.source.position}`);
    assert.equal(out.positions[i], events[i]!.source.position);
  }
  assert.deepEqual(decodeEncodedEvents(out).map((e) => envelopeToJson(e)), events.map((e) => envelopeToJson(e)));
  b.add(envelopeToJson(events[0]!), 'k', 'p', 'a');
  assert.equal(encodedRecord(out, 0).toString('utf8'), envelopeToJson(events[0]!), 'a taken batch is not overwritten by the next one');
});

test('in-place writing: text, bytes, room across growth, abandon; a recycled buffer is reused only after recycle', () => {
  const b = new EncodedEventsBuilder(1 << 16);
  // A record written in place, growing the buffer in the middle of it.
  b.bytes(Buffer.from('{"a":'));
  b.text('"é中😀"');
  const big = 'y'.repeat(200_000);
  b.text(`,"b":"${big}"}`);
  b.end('k1', 'p1', 't');
  assert.equal(encodedRecord({ count: 1, bytes: b.buf.subarray(0, b.at), ends: [b.at], partitionKeys: [], positions: [], tables: [] }, 0).toString('utf8'), `{"a":"é中😀","b":"${big}"}`);
  // A half-written record is dropped by abandon.
  b.text('{"half":');
  b.abandon();
  b.text('{"c":1}');
  b.end('k2', 'p2', 't');
  const first = b.take();
  assert.equal(first.count, 2);
  assert.equal(encodedRecord(first, 1).toString('utf8'), '{"c":1}');
  const firstText = first.bytes.toString('utf8');
  // Not recycled yet: new records never touch the taken batch's bytes.
  for (let i = 0; i < 1000; i++) b.add(`{"n":${i}}`, 'k', 'p', 't');
  const second = b.take();
  assert.equal(first.bytes.toString('utf8'), firstText);
  assert.notEqual(second.bytes.buffer, first.bytes.buffer);
  // Recycled: the next batch after the current one is written into the first one's memory.
  b.recycle(first);
  b.add('{"d":2}', 'k', 'p', 't');
  const third = b.take();
  b.add('{"e":3}', 'k', 'p', 't');
  const fourth = b.take();
  assert.equal(fourth.bytes.buffer, first.bytes.buffer, 'the recycled buffer is reused');
  assert.equal(encodedRecord(fourth, 0).toString('utf8'), '{"e":3}');
  assert.equal(encodedRecord(third, 0).toString('utf8'), '{"d":2}');
  assert.equal(encodedRecord(second, 999).toString('utf8'), '{"n":999}');
});

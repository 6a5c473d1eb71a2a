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

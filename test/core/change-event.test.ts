import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEnvelope, encodeEnvelope, partitionKeyOf, type ChangeEvent, type LogEvent } from '../../src/core/change-event.ts';
import { Decimal, JsonText, Timestamp } from '../../src/core/values.ts';
import { CodecError } from '../../src/core/errors.ts';

const change: ChangeEvent = {
  op: 'update',
  source: { kind: 'postgres', name: 'shop', database: 'app', schema: 'public', table: 'orders', position: '00000000016B3748/00000002', txId: '771', commitTime: new Timestamp(1_700_000_000_123_456n, true) },
  key: { id: 9_007_199_254_740_993n },
  before: null,
  after: { id: 9_007_199_254_740_993n, total: new Decimal('12.50'), meta: new JsonText('{"n": 123456789012345678901}'), note: null },
  unchanged: ['blob'],
  schemaVersion: 3,
};

test('a change event survives encoding byte for byte', () => {
  const back = decodeEnvelope(encodeEnvelope(change));
  assert.deepEqual(back, change);
  assert.deepEqual(encodeEnvelope(back), encodeEnvelope(change));
});

test('a log event survives encoding', () => {
  const ev: LogEvent = { op: 'event', source: { kind: 'http', name: 'clicks', position: '000000000042' }, key: 'user-7', eventTime: Timestamp.fromMillis(1_700_000_000_000), data: { path: '/', n: 2n ** 70n } };
  assert.deepEqual(decodeEnvelope(encodeEnvelope(ev)), ev);
});

test('the partition key is table plus primary key, so one row stays on one shard', () => {
  const other = { ...change, op: 'delete' as const, after: null, before: change.after };
  assert.equal(partitionKeyOf(change), partitionKeyOf(other));
  assert.notEqual(partitionKeyOf(change), partitionKeyOf({ ...change, key: { id: 1n } }));
  assert.match(partitionKeyOf(change), /^public\.orders:/);
});

test('unknown versions and ops are rejected with a clear error', () => {
  const j = JSON.parse(Buffer.from(encodeEnvelope(change)).toString());
  assert.throws(() => decodeEnvelope(Buffer.from(JSON.stringify({ ...j, v: 99 }))), (e: unknown) => e instanceof CodecError && /version 99/.test(e.message));
  assert.throws(() => decodeEnvelope(Buffer.from(JSON.stringify({ ...j, op: 'upsert' }))), (e: unknown) => e instanceof CodecError && /upsert/.test(e.message));
  assert.throws(() => decodeEnvelope(Buffer.from('{not json')), CodecError);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeEvent } from '../../../src/core/change-event.ts';
import { Timestamp, type Row } from '../../../src/core/values.ts';
import { emptyManifest, type Manifest } from '../../../src/lake/current/manifest.ts';
import { advanceMarks, crossShardChanges, crossShardReason, lateReason, NO_MARKS, startingMarks, type TableMarks } from '../../../src/lake/current/shard-marks.ts';

const t = { source: 's', schema: 'public', table: 't' };
const head = (highWater: string, marks?: TableMarks): Manifest => ({ ...emptyManifest(t, 4), version: 3, highWater, ...(marks === undefined ? {} : { marks }) });
const range = (shard: string, low: string, high: string, truncate: string | null = null) => ({ shard, low, high, truncate });
const marks = advanceMarks(NO_MARKS, [range('d/a', '10', '50'), range('d/b', '12', '30')], null);

test('an object is late only below its own shard: a lagging shard is not late', () => {
  const h = head('50', marks);
  assert.equal(lateReason(h, [range('d/b', '31', '45')]), undefined, 'b behind a, but above its own mark');
  assert.match(lateReason(h, [range('d/b', '30', '60')]) ?? '', /d\/b.*high water 30/);
  assert.match(lateReason(h, [range('d/a', '40', '60')]) ?? '', /d\/a/);
  assert.equal(lateReason(undefined, [range('d/a', '01', '02')]), undefined, 'nothing merged yet');
});

test('an object of another shard that ends before a shard\'s oldest change may be a reshard straggler: late', () => {
  const h = head('50', marks);
  assert.match(lateReason(h, [range('d/c', '05', '09')]) ?? '', /reshard/);
  assert.equal(lateReason(h, [range('d/c', '05', '13')]), undefined, 'overlaps every shard: an unrelated shard');
});

test('a truncate older than merged changes is late; changes below a merged truncate are dropped, not late', () => {
  const h = head('50', marks);
  assert.match(lateReason(h, [range('d/b', '31', '45', '40')]) ?? '', /truncate/);
  const after = advanceMarks(marks, [range('d/b', '31', '55', '55')], null);
  assert.equal(after.truncatedAt, '55');
  assert.deepEqual(after.shards['d/b'], { low: '12', high: '55' });
  assert.equal(lateReason(head('55', after), [range('d/a', '51', '54')]), undefined);
});

test('a manifest without marks falls back to the table-wide high water, seeded for every merged shard', () => {
  const h = head('50');
  assert.match(lateReason(h, [range('d/b', '31', '60')]) ?? '', /without per-shard marks/);
  assert.equal(lateReason(h, [range('d/b', '51', '60')]), undefined);
  assert.deepEqual(startingMarks(h, ['d/a', 'd/b']).shards, { 'd/a': { low: '', high: '50' }, 'd/b': { low: '', high: '50' } });
});

const ev = (op: ChangeEvent['op'], position: string, key: Row, before: Row | null, unchanged: string[] = [], txId = position): ChangeEvent => ({
  op, source: { kind: 'test', name: 's', database: 'd', schema: 'public', table: 't', position, txId, commitTime: Timestamp.fromMillis(0) },
  key, before, after: op === 'delete' ? null : { ...key, v: 1 }, schemaVersion: 1, ...(unchanged.length > 0 ? { unchanged } : {}),
});

test('changes that depend on another key: moved rows and key-change inserts without their delete', () => {
  const pk = ['id'];
  const none = crossShardChanges([ev('update', '20', { id: 1 }, { id: 1 }), ev('delete', '21', { id: 2 }, null, [], 'x'), ev('insert', '22', { id: 3 }, null, ['v'], 'x')], pk, 't');
  assert.deepEqual(none, { orphan: null, firstMove: null, lastMove: null });
  const c = crossShardChanges([ev('update', '20', { id: 5 }, { id: 1 }), ev('insert', '22', { id: 3 }, null, ['v'])], pk, 't');
  assert.deepEqual(c, { orphan: '22', firstMove: '20', lastMove: '20' });
  assert.match(crossShardReason(head('50', marks), c) ?? '', /TOAST/);
  const move = crossShardChanges([ev('update', '60', { id: 5 }, { id: 1 })], pk, 't');
  assert.equal(crossShardReason(head('50', marks), move), undefined, 'nothing newer merged: the move applies on top');
  assert.match(crossShardReason(head('70', marks), move) ?? '', /moves a row/);
  const m = advanceMarks(marks, [range('d/a', '60', '60')], '60');
  assert.match(lateReason(head('60', m), [range('d/b', '31', '40')]) ?? '', /depends on/);
});

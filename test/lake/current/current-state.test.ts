import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeEvent, ChangeOp } from '../../../src/core/change-event.ts';
import { Timestamp, type Row } from '../../../src/core/values.ts';
import { CurrentState } from '../../../src/lake/current/current-state.ts';
import { MergeError } from '../../../src/lake/current/errors.ts';
import { canonRows } from './compare.ts';
import { rng, testSeed, Workload, workloadSchema } from './workload.ts';

let n = 0;
function ev(op: ChangeOp, key: Row, before: Row | null, after: Row | null, extra: { unchanged?: string[]; position?: string } = {}): ChangeEvent {
  n++;
  return {
    op,
    source: { kind: 'test', name: 't', database: 'd', schema: 's', table: 't', position: extra.position ?? String(n).padStart(8, '0'), commitTime: Timestamp.fromMillis(0) },
    key,
    before,
    after,
    ...(extra.unchanged ? { unchanged: extra.unchanged } : {}),
    schemaVersion: 1,
  };
}

function state(): CurrentState {
  return new CurrentState({ table: 's.t', primaryKey: ['id'] });
}

function rows(s: CurrentState): Row[] {
  return [...s.entries()].map(([, r]) => r).sort((a, b) => Number(a['id']) - Number(b['id']));
}

test('insert, update and delete in position order', () => {
  const s = state();
  s.apply([ev('insert', { id: 1 }, null, { id: 1, v: 'a' }), ev('insert', { id: 2 }, null, { id: 2, v: 'b' }), ev('update', { id: 1 }, null, { id: 1, v: 'a2' }), ev('delete', { id: 2 }, null, null)]);
  assert.deepEqual(rows(s), [{ id: 1, v: 'a2' }]);
});

test('a batch is applied in position order whatever order it arrives in', () => {
  const s = state();
  const a = ev('insert', { id: 1 }, null, { id: 1, v: 'a' });
  const b = ev('update', { id: 1 }, null, { id: 1, v: 'b' });
  const c = ev('delete', { id: 1 }, null, null);
  const d = ev('insert', { id: 1 }, null, { id: 1, v: 'd' });
  s.apply([d, b, c, a]);
  assert.deepEqual(rows(s), [{ id: 1, v: 'd' }]);
  assert.equal(s.highWater, d.source.position);
});

test('unchanged (TOAST) columns keep the previous value, whether absent or null in after', () => {
  const s = state();
  s.apply([ev('insert', { id: 1 }, null, { id: 1, doc: 'long', v: 1 })]);
  s.apply([ev('update', { id: 1 }, null, { id: 1, v: 2 }, { unchanged: ['doc'] })]);
  assert.deepEqual(rows(s), [{ id: 1, doc: 'long', v: 2 }]);
  s.apply([ev('update', { id: 1 }, null, { id: 1, doc: null, v: 3 }, { unchanged: ['doc'] })]);
  assert.deepEqual(rows(s), [{ id: 1, doc: 'long', v: 3 }]);
});

test('an unchanged column without a previous row becomes null and is counted', () => {
  const s = state();
  const st = s.apply([ev('update', { id: 9 }, null, { id: 9, v: 1 }, { unchanged: ['doc'] })]);
  assert.equal(st.missingPrevious, 1);
  assert.deepEqual(rows(s), [{ id: 9, v: 1, doc: null }]);
});

test('primary-key change as update with the old key in before moves the row and keeps TOAST values', () => {
  const s = state();
  s.apply([ev('insert', { id: 1 }, null, { id: 1, doc: 'long', v: 1 })]);
  const st = s.apply([ev('update', { id: 5 }, { id: 1 }, { id: 5, v: 2 }, { unchanged: ['doc'] })]);
  assert.equal(st.missingPrevious, 0);
  assert.deepEqual(rows(s), [{ id: 5, doc: 'long', v: 2 }]);
});

test('primary-key change as delete + insert', () => {
  const s = state();
  s.apply([ev('insert', { id: 1 }, null, { id: 1, v: 1 }), ev('delete', { id: 1 }, null, null), ev('insert', { id: 2 }, null, { id: 2, v: 1 })]);
  assert.deepEqual(rows(s), [{ id: 2, v: 1 }]);
});

test('delete finds the key in before when key is empty; deleting an absent row is no error', () => {
  const s = state();
  s.apply([ev('insert', { id: 1 }, null, { id: 1 }), ev('delete', {}, { id: 1, v: 'x' }, null), ev('delete', { id: 42 }, null, null)]);
  assert.equal(s.size, 0);
});

test('truncate empties the table; later changes apply on the empty table', () => {
  const s = state();
  s.apply([ev('insert', { id: 1 }, null, { id: 1 }), ev('insert', { id: 2 }, null, { id: 2 }), ev('truncate', {}, null, null), ev('insert', { id: 3 }, null, { id: 3 })]);
  assert.deepEqual(rows(s), [{ id: 3 }]);
});

test('a re-snapshot does not duplicate rows: snapshot rows upsert', () => {
  const s = state();
  s.apply([ev('snapshot', { id: 1 }, null, { id: 1, v: 'a' }), ev('snapshot', { id: 2 }, null, { id: 2, v: 'b' }), ev('update', { id: 1 }, null, { id: 1, v: 'a2' })]);
  s.apply([ev('snapshot', { id: 1 }, null, { id: 1, v: 'a2' }), ev('snapshot', { id: 2 }, null, { id: 2, v: 'b' }), ev('insert', { id: 2 }, null, { id: 2, v: 'b3' })]);
  assert.deepEqual(rows(s), [{ id: 1, v: 'a2' }, { id: 2, v: 'b3' }]);
});

test('applying the same changes twice is a no-op (positions at or below the high-water mark are skipped)', () => {
  const s = state();
  const batch = [ev('insert', { id: 1 }, null, { id: 1, v: 1 }), ev('update', { id: 1 }, null, { id: 1, v: 2 }), ev('delete', { id: 1 }, null, null), ev('insert', { id: 1 }, null, { id: 1, v: 3 })];
  s.apply(batch);
  const st = s.apply(batch);
  assert.equal(st.applied, 0);
  assert.equal(st.skipped, 4);
  assert.deepEqual(rows(s), [{ id: 1, v: 3 }]);
  // A batch that overlaps the previous one applies only its new tail.
  const more = ev('update', { id: 1 }, null, { id: 1, v: 4 });
  assert.equal(s.apply([...batch.slice(2), more]).applied, 1);
  assert.deepEqual(rows(s), [{ id: 1, v: 4 }]);
});

test('composite and 64-bit keys: ids beyond 2^53 stay exact and distinct', () => {
  const s = new CurrentState({ table: 's.t', primaryKey: ['a', 'b'] });
  s.apply([ev('insert', { a: 1, b: 9007199254740993n }, null, { a: 1, b: 9007199254740993n, v: 'x' }), ev('insert', { a: 1, b: 9007199254740992n }, null, { a: 1, b: 9007199254740992n, v: 'y' })]);
  assert.equal(s.size, 2);
  assert.equal(s.get({ a: 1, b: 9007199254740993n })?.['v'], 'x');
});

test('errors name the table and what to do', () => {
  assert.throws(() => new CurrentState({ table: 'pg.public.logs', primaryKey: [] }), (e: unknown) => e instanceof MergeError && /pg\.public\.logs has no primary key/.test(e.message) && /_changes/.test(e.message));
  const s = state();
  assert.throws(() => s.apply([ev('delete', {}, null, null, { position: 'p1' })]), (e: unknown) => e instanceof MergeError && /delete at position p1/.test(e.message));
  assert.throws(() => s.apply([ev('insert', { id: 1 }, null, null, { position: 'p2' })]), (e: unknown) => e instanceof MergeError && /no after row/.test(e.message));
  assert.throws(() => s.apply([ev('insert', { x: 1 }, null, { x: 1 }, { position: 'p3' })]), (e: unknown) => e instanceof MergeError && /lacks primary-key column "id"/.test(e.message));
});

test('randomized workload: after every batch (shuffled, sometimes replayed) the state equals the source', () => {
  const seed = testSeed('current-state randomized');
  const rand = rng(seed ^ 0x5eed);
  const w = new Workload({ seed, truncateRate: 0.003, resnapshotRate: 0.003 });
  const s = new CurrentState({ table: 'gen.public.accounts', primaryKey: workloadSchema.primaryKey });
  let prev: ChangeEvent[] = [];
  for (let i = 0; i < 300; i++) {
    const batch = w.next(1 + Math.floor(rand() * 60));
    // Shuffle: shards interleave, and key changes move rows across partitions.
    for (let j = batch.length - 1; j > 0; j--) {
      const k = Math.floor(rand() * (j + 1));
      [batch[j], batch[k]] = [batch[k] as ChangeEvent, batch[j] as ChangeEvent];
    }
    const input = rand() < 0.2 ? [...prev, ...batch] : batch; // redelivery of the previous batch
    s.apply(input);
    assert.deepEqual(canonRows([...s.entries()].map(([, r]) => r), workloadSchema), canonRows(w.truth.values(), workloadSchema), `seed ${seed}, batch ${i}`);
    prev = batch;
  }
});

test('key change as delete + insert in one transaction: the insert takes TOAST values from the deleted row', () => {
  const s = state();
  s.apply([ev('insert', { id: 1 }, null, { id: 1, doc: 'long', v: 1 })]);
  const del = ev('delete', { id: 1 }, { id: 1 }, null);
  const ins = ev('insert', { id: 2 }, null, { id: 2, v: 2 }, { unchanged: ['doc'] });
  const tx = (e: ChangeEvent): ChangeEvent => ({ ...e, source: { ...e.source, txId: '77' } });
  const st = s.apply([tx(del), tx(ins)]);
  assert.equal(st.missingPrevious, 0);
  assert.deepEqual(rows(s), [{ id: 2, v: 2, doc: 'long' }]);
  // Another transaction's delete is not the source of the values.
  const s2 = state();
  s2.apply([ev('insert', { id: 1 }, null, { id: 1, doc: 'long' })]);
  const other = { ...ev('delete', { id: 1 }, null, null) };
  const st2 = s2.apply([{ ...other, source: { ...other.source, txId: 'a' } }, { ...ins, source: { ...ins.source, position: '99999999', txId: 'b' } }]);
  assert.equal(st2.missingPrevious, 1);
});

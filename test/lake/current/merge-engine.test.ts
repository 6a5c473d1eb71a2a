import { test } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import type { ChangeEvent } from '../../../src/core/change-event.ts';
import { loadSchema } from '../../../src/core/schema.ts';
import { MemoryStateStore } from '../../../src/state/memory-state-store.ts';
import { StateConflictError } from '../../../src/state/errors.ts';
import { loadManifest, manifestKeys } from '../../../src/lake/current/manifest.ts';
import { currentTableSelect, readCurrentRows } from '../../../src/lake/current/current-reader.ts';
import { canonRows } from './compare.ts';
import { openFixture, putSchema, type Fixture } from './fixture.ts';
import { rng, testSeed, Workload, workloadSchema as schema } from './workload.ts';
import type { MemoryStateStore as MSS } from '../../../src/state/memory-state-store.ts';

const table = { source: schema.source, schema: schema.schema, table: schema.table };

async function merge(fx: Fixture, state: MSS, events: ChangeEvent[], checkpoint: number) {
  return fx.engine.merge({ table, events, checkpoint, schema: (v) => loadSchema(state, table, v) });
}

async function rowsOf(fx: Fixture, state: MSS) {
  return canonRows(await readCurrentRows({ state, lake: fx.lake, conn: fx.engine.connection, tmpDir: fx.dir, table, schema }), schema);
}

/** DuckDB's own reading of the files, through plain SQL: a reader that shares no code with the merge's. */
async function duckSummary(fx: Fixture, state: MSS): Promise<string[]> {
  const m = await loadManifest(state, table);
  if (m === undefined) return [];
  const sql = `SELECT tenant::VARCHAR || ':' || id::VARCHAR || ':' || coalesce(name, '∅') || ':' || coalesce(amount, '∅') || ':' || coalesce(md5(doc), '∅') || ':' || coalesce(hex(blob), '∅') AS s FROM (${currentTableSelect(m, schema, (k) => fx.lake.pathOf(k))}) ORDER BY s`;
  return (await fx.engine.connection.runAndReadAll(sql)).getRows().map((r) => String(r[0]));
}

function truthSummary(w: Workload): string[] {
  const md5 = (s: string) => createHash('md5').update(s).digest('hex');
  return [...w.truth.values()]
    .map((r) => `${r['tenant']}:${r['id']}:${r['name'] ?? '∅'}:${r['amount']?.toString() ?? '∅'}:${r['doc'] === null ? '∅' : md5(r['doc'] as string)}:${r['blob'] === null ? '∅' : Buffer.from(r['blob'] as Uint8Array).toString('hex').toUpperCase()}`)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
test('randomized workload through Parquet files: after every merge the table equals the source (two readers)', async (t) => {
  const seed = testSeed('merge-engine randomized');
  const rand = rng(seed ^ 0xbeef);
  const state = new MemoryStateStore();
  await putSchema(state, schema);
  const fx = await openFixture(state, { buckets: 8 });
  t.after(() => fx.close());
  const w = new Workload({ seed, truncateRate: 0.002, resnapshotRate: 0.002 });
  let prev: ChangeEvent[] = [];
  let partial = 0;
  const paths = { sql: 0, js: 0 };
  for (let i = 0; i < 60; i++) {
    const batch = w.next(1 + Math.floor(rand() * (rand() < 0.3 ? 8 : 150)));
    for (let j = batch.length - 1; j > 0; j--) {
      const k = Math.floor(rand() * (j + 1));
      [batch[j], batch[k]] = [batch[k] as ChangeEvent, batch[j] as ChangeEvent];
    }
    const res = await merge(fx, state, rand() < 0.2 ? [...prev, ...batch] : batch, i);
    if (res.bucketsRewritten < 8) partial++;
    paths.sql += res.groups.sql;
    paths.js += res.groups.js;
    assert.deepEqual(await rowsOf(fx, state), canonRows(w.truth.values(), schema), `seed ${seed}, merge ${i}`);
    assert.deepEqual(await duckSummary(fx, state), truthSummary(w), `seed ${seed}, merge ${i} (DuckDB SQL reader)`);
    prev = batch;
  }
  // Small batches must not rewrite the whole table: that is the point of key buckets.
  assert.ok(partial > 0, 'some merges rewrote only some buckets');
  assert.ok(paths.sql > 0 && paths.js > 0, `both merge paths ran: ${JSON.stringify(paths)}`);
  assert.ok(fx.metrics.get('hydrant_merge_changes_total', { table: 'gen.public.accounts' }) > 0);
  assert.equal(fx.metrics.get('hydrant_current_rows', { table: 'gen.public.accounts' }), w.truth.size);
});

test('merging the same batch again commits nothing and changes nothing', async (t) => {
  const state = new MemoryStateStore();
  await putSchema(state, schema);
  const fx = await openFixture(state);
  t.after(() => fx.close());
  const w = new Workload({ seed: 7 });
  const batch = w.next(200);
  const first = await merge(fx, state, batch, 1);
  const again = await merge(fx, state, batch, 1);
  assert.equal(again.committed, false);
  assert.equal(again.version, first.version);
  assert.equal(again.stats.skipped, batch.length);
  assert.deepEqual(await rowsOf(fx, state), canonRows(w.truth.values(), schema));
});

test('only buckets a batch touches are rewritten; untouched files are kept as they are', async (t) => {
  const state = new MemoryStateStore();
  await putSchema(state, schema);
  const fx = await openFixture(state, { buckets: 16 });
  t.after(() => fx.close());
  const w = new Workload({ seed: 11, truncateRate: 0, resnapshotRate: 0 });
  await merge(fx, state, w.next(500), 1);
  const before = await loadManifest(state, table);
  const res = await merge(fx, state, w.next(1), 2);
  const after = await loadManifest(state, table);
  assert.ok(res.bucketsRewritten <= 2, `one change rewrites its bucket (two for a key change), not ${res.bucketsRewritten}`);
  const same = after!.files.filter((f) => before!.files.some((g) => g.key === f.key));
  assert.ok(same.length >= before!.files.length - 2);
  assert.deepEqual(await rowsOf(fx, state), canonRows(w.truth.values(), schema));
});

test('replaced files stay for the grace period, then are deleted with their manifest', async (t) => {
  const state = new MemoryStateStore();
  await putSchema(state, schema);
  const fx = await openFixture(state, { buckets: 4, graceMs: 60_000 });
  t.after(() => fx.close());
  const w = new Workload({ seed: 3, truncateRate: 0, resnapshotRate: 0 });
  await merge(fx, state, w.next(100), 1);
  const v1 = await loadManifest(state, table);
  await merge(fx, state, w.next(100), 2);
  const keys = manifestKeys(table);
  // Within the grace period a reader of version 1 still finds all its files.
  for (const f of v1!.files) assert.ok(await fx.lake.head(f.key), `${f.key} still readable`);
  assert.ok(await state.get(keys.version(1)));
  fx.clock += 61_000;
  const { deleted } = await fx.engine.cleanup(table);
  assert.ok(deleted > 0);
  assert.equal(await state.get(keys.version(1)), undefined);
  const live = new Set((await loadManifest(state, table))!.files.map((f) => f.key));
  const listed = (await fx.lake.list('databases/')).map((o) => o.key);
  assert.deepEqual(listed.filter((k) => k.includes('/current/data/')).sort(), [...live].sort(), 'only the readable version\'s files remain');
  const head = (await loadManifest(state, table))!.version;
  assert.deepEqual(listed.filter((k) => k.includes('/current/metadata/')).map((k) => k.split('/').pop()).sort(), [`v${String(head).padStart(10, '0')}.json`, 'latest.json'].sort());
});

test('a merge whose starting version is no longer the head is rejected by the conditional commit', async (t) => {
  const state = new MemoryStateStore();
  await putSchema(state, schema);
  const fx = await openFixture(state);
  t.after(() => fx.close());
  const w = new Workload({ seed: 5 });
  await merge(fx, state, w.next(50), 1);
  const racing = w.next(20);
  // Simulate the other writer: bump head between our load and our commit by wrapping commit.
  const realCommit = state.commit.bind(state);
  let once = true;
  state.commit = async (ops, conds) => {
    if (once && ops.some((o) => o.key === manifestKeys(table).head)) {
      once = false;
      const head = (await state.get(manifestKeys(table).head)) as { version: number };
      await realCommit([{ type: 'put', key: manifestKeys(table).head, value: { version: head.version + 100 } }]);
    }
    return realCommit(ops, conds);
  };
  await assert.rejects(merge(fx, state, racing, 2), StateConflictError);
  assert.deepEqual(await state.get(manifestKeys(table).head), { version: 101 }, 'the other writer\'s head stands');
});

test('a truncate drops every file; an empty table still has its columns in SQL', async (t) => {
  const state = new MemoryStateStore();
  await putSchema(state, schema);
  const fx = await openFixture(state);
  t.after(() => fx.close());
  const w = new Workload({ seed: 9, truncateRate: 0, resnapshotRate: 0 });
  await merge(fx, state, w.next(100), 1);
  const ev = w.next(1)[0] as ChangeEvent;
  const trunc: ChangeEvent = { ...ev, op: 'truncate', key: {}, before: null, after: null, source: { ...ev.source, position: 'ffffffffffffffff/00000000' } };
  const res = await merge(fx, state, [trunc], 2);
  assert.equal(res.rows, 0);
  const m = await loadManifest(state, table);
  assert.equal(m!.files.length, 0);
  const r = await fx.engine.connection.runAndReadAll(`SELECT count(*), typeof(any_value(id)) FROM (${currentTableSelect(m!, schema, (k) => fx.lake.pathOf(k))})`);
  assert.equal(Number(r.getRows()[0]![0]), 0);
});

test('a column added at the source: old files read it as NULL, rewritten buckets carry it, SQL sees it typed even before any file has it', async (t) => {
  const state = new MemoryStateStore();
  await putSchema(state, schema);
  const fx = await openFixture(state, { buckets: 8 });
  t.after(() => fx.close());
  const w = new Workload({ seed: 33, truncateRate: 0, resnapshotRate: 0 });
  const first = w.next(300);
  await merge(fx, state, first, 1);
  const v2 = { ...schema, version: 2, columns: [...schema.columns, { name: 'region', type: { kind: 'string' as const }, nullable: true }] };
  await putSchema(state, v2);
  let m = await loadManifest(state, table);
  // Schema v2 is recorded but nothing of it merged yet: the view still has the column.
  let r = await fx.engine.connection.runAndReadAll(`SELECT count(region), typeof(any_value(region)), count(*) FROM (${currentTableSelect(m!, v2, (k) => fx.lake.pathOf(k))})`);
  assert.deepEqual(r.getRows()[0], [0n, 'VARCHAR', BigInt(w.truth.size)]);
  // One v2 change: its bucket is rewritten with the new column, the others keep v1 files.
  const template = first[0] as ChangeEvent;
  const row = { tenant: 9, id: 999_999n, name: 'new', amount: null, score: null, active: null, born: null, updated_at: null, doc: null, blob: null, region: 'eu' };
  const e2: ChangeEvent = { op: 'insert', source: { ...template.source, position: 'ffff/0' }, key: { tenant: 9, id: 999_999n }, before: null, after: row, schemaVersion: 2 };
  await merge(fx, state, [e2], 2);
  w.truth.set('9:999999', row);
  m = await loadManifest(state, table);
  assert.equal(m!.schemaVersion, 2);
  assert.ok(m!.files.some((f) => f.schemaVersion === 1) && m!.files.some((f) => f.schemaVersion === 2));
  r = await fx.engine.connection.runAndReadAll(`SELECT count(region), count(*) FROM (${currentTableSelect(m!, v2, (k) => fx.lake.pathOf(k))})`);
  assert.deepEqual(r.getRows()[0], [1n, BigInt(w.truth.size)]);
  const rows = await readCurrentRows({ state, lake: fx.lake, conn: fx.engine.connection, tmpDir: fx.dir, table, schema: v2 });
  assert.deepEqual(canonRows(rows, v2), canonRows(w.truth.values(), v2));
});

/**
 * Merging a sharded stream whose shards commit change objects at different times: each round,
 * a random subset of shards delivers a random prefix of what it has queued (order kept per
 * shard, as the stream guarantees), then the table is merged and compared with an independent
 * replay of exactly the changes delivered so far. Without truly late objects (no truncates, no
 * changes that depend on another key) no merge may rebuild from history; with them, rebuilds
 * are allowed but the table must still equal the replay after every merge. Seeded: the seed
 * is printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeEvent } from '../../../src/core/change-event.ts';
import type { Row } from '../../../src/core/values.ts';
import { MemoryStateStore } from '../../../src/state/memory-state-store.ts';
import { MergeJob } from '../../../src/lake/current/merge-job.ts';
import { loadManifest } from '../../../src/lake/current/manifest.ts';
import { readCurrentRows } from '../../../src/lake/current/current-reader.ts';
import { canonRows } from './compare.ts';
import { openFixture, putSchema } from './fixture.ts';
import { LakePipeline } from './lake-pipeline.ts';
import { keyStr, rng, testSeed, Workload, workloadSchema as schema } from './workload.ts';

const table = { source: schema.source, schema: schema.schema, table: schema.table };

/**
 * The table after `events`, replayed in position order — written here, independently of the
 * merge code, from the rules in docs/current-state.md.
 */
function replay(events: readonly ChangeEvent[]): Row[] {
  const sorted = [...events].sort((a, b) => (a.source.position < b.source.position ? -1 : a.source.position > b.source.position ? 1 : 0));
  const rows = new Map<string, Row>();
  let deleted: { tx: string | undefined; row: Row } | undefined;
  const fill = (row: Row, unchanged: readonly string[] | undefined, prev: Row | undefined): Row => {
    for (const c of unchanged ?? []) row[c] = prev?.[c] ?? null;
    return row;
  };
  for (const e of sorted) {
    const justDeleted = deleted;
    deleted = undefined;
    if (e.op === 'truncate') rows.clear();
    else if (e.op === 'insert' || e.op === 'snapshot') {
      const k = keyStr(e.after as Row);
      const prev = rows.get(k) ?? (justDeleted !== undefined && justDeleted.tx === e.source.txId ? justDeleted.row : undefined);
      rows.set(k, fill({ ...(e.after as Row) }, e.unchanged, prev));
    } else if (e.op === 'update') {
      const k = keyStr(e.key);
      const old = e.before !== null && e.before['id'] !== undefined ? keyStr(e.before) : k;
      const prev = rows.get(old);
      rows.delete(old);
      rows.set(k, fill({ ...(e.after as Row) }, e.unchanged, prev));
    } else if (e.op === 'delete') {
      const k = keyStr(e.key);
      const row = rows.get(k);
      rows.delete(k);
      if (row !== undefined) deleted = { tx: e.source.txId, row };
    }
  }
  return [...rows.values()];
}

const cases = [
  { name: 'whole-row changes, nothing truly late', sql: true, format: 'parquet', late: false },
  { name: 'whole-row changes, nothing truly late', sql: false, format: 'parquet', late: false },
  { name: 'whole-row changes, nothing truly late', sql: true, format: 'jsonl', late: false },
  { name: 'truncates, TOAST-unchanged columns and key changes across shards', sql: true, format: 'parquet', late: true },
  { name: 'truncates, TOAST-unchanged columns and key changes across shards', sql: true, format: 'jsonl', late: true },
] as const;

for (const c of cases) {
  const path = c.format === 'parquet' && c.sql ? 'SQL path' : 'event path';
  test(`sharded stream, shards committing in interleaved order (${c.name}; ${c.format}, ${path}): after every merge the table equals a replay of what was delivered`, async (t) => {
    const seed = testSeed(`sharded merge (${c.name}, ${c.format}, ${path})`);
    const rand = rng(seed);
    const shards = 2 + Math.floor(rand() * 3);
    const state = new MemoryStateStore();
    await putSchema(state, schema);
    const fx = await openFixture(state, { buckets: 4 });
    const pipe = await LakePipeline.open({ state, lake: fx.lake, dataDir: fx.dir, shards, format: c.format });
    t.after(async () => {
      await pipe.close();
      await fx.close();
    });
    const job = new MergeJob({ state, lake: fx.lake, engine: fx.engine, tmpDir: fx.dir, sql: c.sql });
    const w = c.late
      ? new Workload({ seed, toast: true, keyChangeAsUpdate: true, truncateRate: 0.004, resnapshotRate: 0.002 })
      : new Workload({ seed, toast: false, keyChangeAsUpdate: false, truncateRate: 0, resnapshotRate: 0.002 });
    const queued = new Map<string, ChangeEvent[]>();
    for (let i = 0; i < shards; i++) queued.set(`shard-${i}`, []);
    const delivered: ChangeEvent[] = [];
    let merges = 0;
    let rebuilds = 0;
    let behind = 0;
    for (let round = 0; round < 30; round++) {
      for (const e of w.next(1 + Math.floor(rand() * 150))) (queued.get(pipe.shardOf(e)) as ChangeEvent[]).push(e);
      for (const [shard, list] of queued) {
        // Round 0 delivers every shard (see shard-marks.ts: a shard whose first object ends
        // before another shard's first change could be a reshard straggler, and is rebuilt).
        if (round > 0 && rand() < 0.5) continue;
        const n = round === 0 ? list.length : Math.floor(rand() * (list.length + 1));
        const part = list.splice(0, n);
        await pipe.deliverShard(shard, part);
        for (const e of part) delivered.push(e);
      }
      if (rand() < 0.25) continue;
      const [report] = await job.mergeAll();
      assert.ok(report !== undefined && report.problem === undefined, `seed ${seed}: ${report?.problem}`);
      if (report.result?.committed === true) {
        merges++;
        if (report.rebuilt) rebuilds++;
        const m = await loadManifest(state, table);
        // Merged changes below the table-wide high water: a shard was behind another.
        if (m?.marks !== undefined && Object.values(m.marks.shards).some((s) => s.high < (m.highWater as string))) behind++;
      }
      const rows = await readCurrentRows({ state, lake: fx.lake, conn: fx.engine.connection, tmpDir: fx.dir, table, schema });
      assert.deepEqual(canonRows(rows, schema), canonRows(replay(delivered), schema), `seed ${seed}, round ${round}`);
      // Replaying: nothing new, nothing committed.
      assert.equal((await job.mergeTable(table)).objects, 0);
    }
    // The rest, then a last merge: the table equals the source.
    for (const [shard, list] of queued) {
      await pipe.deliverShard(shard, list.splice(0));
    }
    await job.mergeAll();
    const rows = await readCurrentRows({ state, lake: fx.lake, conn: fx.engine.connection, tmpDir: fx.dir, table, schema });
    assert.deepEqual(canonRows(rows, schema), canonRows(w.truth.values(), schema), `seed ${seed}, final`);
    console.log(`# ${shards} shards: ${merges} merges, ${behind} with a shard behind another, ${rebuilds} rebuilt from history`);
    assert.ok(merges > 10 && behind > 3, `seed ${seed}: the interleaving must exercise shards behind others (${behind} of ${merges})`);
    if (!c.late) assert.equal(rebuilds, 0, `seed ${seed}: no object was truly late, so no merge may rebuild`);
  });
}

for (const sql of [true, false]) test(`after a reshard, a parent shard's straggler that commits after its child's newer changes were merged rebuilds the table (${sql ? 'SQL' : 'event'} path)`, async (t) => {
  const state = new MemoryStateStore();
  await putSchema(state, schema);
  const fx = await openFixture(state, { buckets: 4 });
  const pipe = await LakePipeline.open({ state, lake: fx.lake, dataDir: fx.dir, shards: 1, format: 'parquet' });
  t.after(async () => {
    await pipe.close();
    await fx.close();
  });
  const job = new MergeJob({ state, lake: fx.lake, engine: fx.engine, tmpDir: fx.dir, sql });
  const w = new Workload({ seed: 7, toast: false, keyChangeAsUpdate: false, truncateRate: 0, resnapshotRate: 0 });
  const early = w.next(100);
  const straggler = w.next(60); // still in the parent's buffer at the reshard
  const child = w.next(60); // the same keys, now on the child shard
  const keys = (list: readonly ChangeEvent[]): Set<string> => new Set(list.filter((e) => e.op !== 'insert').map((e) => keyStr(e.key)));
  assert.ok([...keys(child)].some((k) => keys(straggler).has(k)), 'the child changes keys the straggler changed too');
  await pipe.deliverUnrouted('shard-0', early);
  assert.equal((await job.mergeTable(table)).rebuilt, false);
  await pipe.deliverUnrouted('shard-1', child);
  assert.equal((await job.mergeTable(table)).rebuilt, false, 'a new shard above everything merged is not late');
  await pipe.deliverUnrouted('shard-0', straggler);
  const r = await job.mergeTable(table);
  assert.equal(r.rebuilt, true, 'the straggler ends before the child\'s oldest change: late');
  const rows = await readCurrentRows({ state, lake: fx.lake, conn: fx.engine.connection, tmpDir: fx.dir, table, schema });
  assert.deepEqual(canonRows(rows, schema), canonRows(w.truth.values(), schema));
});

test('a truncate on one shard: older changes of a lagging shard arriving later are dropped (no rebuild); a truncate arriving after newer changes of another shard rebuilds', async (t) => {
  for (const scenario of ['lagging shard after the truncate', 'truncate after another shard']) {
    const state = new MemoryStateStore();
    await putSchema(state, schema);
    const fx = await openFixture(state, { buckets: 4 });
    const pipe = await LakePipeline.open({ state, lake: fx.lake, dataDir: fx.dir, shards: 2, format: 'parquet' });
    t.after(async () => {
      await pipe.close();
      await fx.close();
    });
    const job = new MergeJob({ state, lake: fx.lake, engine: fx.engine, tmpDir: fx.dir });
    const w = new Workload({ seed: 11, toast: false, keyChangeAsUpdate: false, truncateRate: 0, resnapshotRate: 0 });
    const before = w.next(150);
    const last = before[before.length - 1] as ChangeEvent;
    // Sorts right after the last change of `before`, before the workload's next position.
    const truncate: ChangeEvent = { op: 'truncate', source: { ...last.source, position: `${last.source.position.slice(0, 16)}/00000001` }, key: {}, before: null, after: null, schemaVersion: 1 };
    const after = w.next(150);
    const x = pipe.shardOf(truncate);
    const y = x === 'shard-0' ? 'shard-1' : 'shard-0';
    const on = (shard: string, list: readonly ChangeEvent[]): ChangeEvent[] => list.filter((e) => pipe.shardOf(e) === shard);
    const delivered: ChangeEvent[] = [];
    const step = async (shard: string, list: readonly ChangeEvent[], rebuilt: boolean, what: string): Promise<void> => {
      await pipe.deliverShard(shard, list);
      delivered.push(...list);
      const r = await job.mergeTable(table);
      assert.equal(r.rebuilt, rebuilt, `${scenario}: ${what}`);
      const rows = await readCurrentRows({ state, lake: fx.lake, conn: fx.engine.connection, tmpDir: fx.dir, table, schema });
      assert.deepEqual(canonRows(rows, schema), canonRows(replay(delivered), schema), `${scenario}: ${what}`);
    };
    if (scenario === 'lagging shard after the truncate') {
      await step(x, [...on(x, before), truncate], false, 'the truncate merged');
      assert.ok(on(y, before).length > 0);
      await step(y, on(y, before), false, 'older changes of the other shard: dropped, not late');
      assert.equal((await loadManifest(state, table))?.rows, 0, 'the truncate removed them');
      await step(y, on(y, after), false, 'newer changes of the other shard');
      await step(x, on(x, after), false, 'newer changes of the truncate\'s shard');
    } else {
      await step(x, on(x, before), false, 'first shard');
      await step(y, [...on(y, before), ...on(y, after)], false, 'the other shard, past the truncate');
      await step(x, [truncate, ...on(x, after)], true, 'the truncate is older than merged changes: rebuilt');
    }
    assert.deepEqual(canonRows(replay(delivered), schema), canonRows(replay([...before, truncate, ...after]), schema), 'everything was delivered');
  }
});

/**
 * Schemas through source-edge transforms, end to end: generator -> anonymize (drop,
 * generalize to age) -> rename (table and column) -> add -> stream -> lake (Parquet), read
 * back with DuckDB through the lake's query path. The lake's columns and values must be
 * exactly what the transforms produced: nothing renamed, added or retyped may be dropped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChangeEvent } from '../../src/core/change-event.ts';
import type { ComponentContext } from '../../src/core/component.ts';
import { createLogger, silentLogger } from '../../src/core/logger.ts';
import { Metrics } from '../../src/core/metrics.ts';
import { latestSchema } from '../../src/core/schema.ts';
import type { Row } from '../../src/core/values.ts';
import { FsObjectStore } from '../../src/lake/fs/fs-object-store.ts';
import { LakeQuery } from '../../src/lake/query/lake-query.ts';
import { EmbeddedStateStore } from '../../src/state/embedded/embedded-state-store.ts';
import { MemoryStateStore } from '../../src/state/memory-state-store.ts';
import { runtimeSpecFromPlain, type PlainPipeline } from '../../src/runtime/build.ts';
import { EdgeSchemas, SchemaMismatchError } from '../../src/runtime/edge-schemas.ts';
import { PipelineRunner } from '../../src/runtime/pipeline-runner.ts';
import { generatorSchemas } from '../../src/sources/generator/tables.ts';
import { Workload } from '../../src/sources/generator/workload.ts';
import { transformKinds } from '../../src/transforms/registry.ts';
import type { Transform, TransformItem } from '../../src/transforms/transform.ts';

const SEED = 2024;
const COUNT = 1500;
console.log(`edge schemas test seed=${SEED}`);

const TRANSFORMS = {
  pii: { type: 'anonymize', rules: [{ tables: ['customers'], columns: ['address'], action: 'drop' }, { tables: ['customers'], columns: ['birth_date'], action: 'generalize', to: 'age' }] },
  names: { type: 'rename', tables: [{ from: 'public.customers', to: 'clients' }], columns: [{ tables: ['customers'], from: 'name', to: 'full_name' }] },
  meta: { type: 'add', columns: [{ tables: ['clients'], name: 'env', value: 'constant', constant: 'prod' }, { tables: ['clients'], name: 'op_letter', value: 'op_code' }] },
} as const;

/** The transforms of the pipeline, applied in-process to the generator's events: what the lake must hold. */
async function expectedRows(plain: PlainPipeline, dir: string): Promise<Map<string, Row>> {
  const spec = runtimeSpecFromPlain(plain, dir);
  const chain: Transform[] = [];
  for (const name of ['pii', 'names', 'meta']) {
    const t = spec.transforms[name]!;
    const d = transformKinds.find((k) => k.kind === t.type)!;
    chain.push(await d.create(t.config, { name, pipeline: 'x', dataDir: dir, state: new MemoryStateStore(), logger: silentLogger, metrics: new Metrics() } as unknown as ComponentContext));
  }
  const w = new Workload(SEED, { source: 'shop', database: 'shop', schema: 'public', startMillis: Date.parse('2024-01-01T00:00:00Z') });
  let items: TransformItem[] = Array.from({ length: COUNT }, (_, i) => ({ id: String(i), envelope: w.next(), arrivalTime: 0 }));
  for (const t of chain) {
    const r = await t.apply(items);
    assert.equal(r.failed.length, 0);
    items = r.items;
    await t.close();
  }
  const out = new Map<string, Row>();
  for (const { envelope: e } of items) {
    if (e.op === 'event' || e.source.table !== 'clients') continue;
    const c = e as ChangeEvent;
    out.set(c.source.position, (c.op === 'delete' ? (c.before ?? c.key) : c.after) as Row);
  }
  return out;
}

test('renamed, added, dropped and generalized (age) columns on a source edge reach the Parquet lake as the transforms produced them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-edge-schemas-'));
  try {
    const plain: PlainPipeline = {
      name: 'edge-schemas',
      lake: { type: 'fs', path: 'lake' },
      streams: { changes: { shards: 2 } },
      sources: { shop: { type: 'generator', stream: 'changes', seed: SEED, count: COUNT, transforms: ['pii', 'names', 'meta'] } },
      transforms: TRANSFORMS,
      deliveries: { lake: { type: 'lake', stream: 'changes', format: 'parquet', compression: 'zstd', buffer_interval_s: 0 } },
    };
    const runner = await PipelineRunner.open(runtimeSpecFromPlain(plain, dir), { untilCaughtUp: true, logger: silentLogger });
    assert.equal((await runner.run()).reason, 'caught-up');

    const expected = await expectedRows(plain, dir);
    assert.ok(expected.size > 50, `the workload has customers (${expected.size})`);

    const state = await EmbeddedStateStore.open({ dataDir: dir, logger: silentLogger });
    const q = new LakeQuery({ state, lake: new FsObjectStore(join(dir, 'lake')), cacheDir: join(dir, 'query-cache') });
    try {
      const schema = await latestSchema(state, { source: 'shop', schema: 'public', table: 'clients' });
      assert.ok(schema !== undefined, 'the schema is recorded under the renamed table');
      assert.deepEqual(schema.columns.map((c) => `${c.name}:${c.type.kind}`), ['id:int64', 'full_name:string', 'email:string', 'phone:string', 'birth_date:int32', 'created_at:timestamptz', 'env:string', 'op_letter:string']);
      assert.equal(await latestSchema(state, { source: 'shop', schema: 'public', table: 'customers' }), undefined, 'no schema under the old name');

      const res = await q.run('SELECT * FROM shop.public.clients_changes');
      // Hive partition columns (year, month, ...) come from the object keys, not the objects.
      const data = res.columns.filter((c) => !c.startsWith('_') && !['year', 'month', 'day', 'hour'].includes(c));
      assert.deepEqual(data, ['id', 'full_name', 'email', 'phone', 'birth_date', 'created_at', 'env', 'op_letter']);
      const types = await q.run(`SELECT column_name, column_type FROM (DESCRIBE SELECT birth_date, id FROM shop.public.clients_changes)`);
      assert.deepEqual(types.rows.map((r) => `${String(r['column_name'])}:${String(r['column_type'])}`), ['birth_date:INTEGER', 'id:BIGINT']);

      assert.equal(res.rows.length, expected.size, 'one lake row per customer change');
      let ages = 0;
      for (const row of res.rows) {
        const want = expected.get(String(row['_position']));
        assert.ok(want !== undefined, `unexpected position ${String(row['_position'])}`);
        for (const c of ['id', 'full_name', 'email', 'phone', 'env', 'op_letter', 'birth_date']) {
          const w: Row[string] = want[c] ?? null;
          assert.equal(row[c] === null ? null : String(row[c]), w === null ? null : String(w), `${c} at ${String(row['_position'])}`);
        }
        if (row['birth_date'] !== null) ages++;
      }
      assert.ok(ages > 0, 'some ages are set');
    } finally {
      await q.close();
      await state.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a source edge with a transform whose columns depend on the values (flatten) records no schema: the lake infers the columns, nothing is dropped', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-edge-schemaless-'));
  try {
    const plain: PlainPipeline = {
      name: 'edge-schemaless',
      lake: { type: 'fs', path: 'lake' },
      streams: { changes: { shards: 1 } },
      sources: { shop: { type: 'generator', stream: 'changes', seed: SEED, count: 400, transforms: ['names', 'flat'] } },
      transforms: { names: TRANSFORMS.names, flat: { type: 'flatten' } },
      deliveries: { lake: { type: 'lake', stream: 'changes', format: 'parquet', compression: 'zstd', buffer_interval_s: 0 } },
      current_state: { enabled: true },
    };
    const logs: string[] = [];
    const runner = await PipelineRunner.open(runtimeSpecFromPlain(plain, dir), { untilCaughtUp: true, logger: createLogger({ level: 'warn', sink: (l) => logs.push(l) }) });
    const summary = await runner.run();
    assert.equal(summary.reason, 'caught-up');
    // Merging needs a schema: no current-state table, and the run said so at start.
    assert.deepEqual(summary.merged, []);
    assert.ok(logs.some((l) => /source shop: its edge transforms flat make columns from values, so its tables have no recorded schema and get no current-state table/.test(l)), logs.join('\n'));
    const state = await EmbeddedStateStore.open({ dataDir: dir, logger: silentLogger });
    const q = new LakeQuery({ state, lake: new FsObjectStore(join(dir, 'lake')), cacheDir: join(dir, 'query-cache') });
    try {
      assert.equal((await state.list('schemas/')).length, 0, 'no schema recorded');
      const res = await q.run('SELECT * FROM shop.public.clients_changes');
      assert.ok(res.rows.length > 0);
      assert.ok(res.columns.includes('full_name') && !res.columns.includes('name'), res.columns.join(','));
      assert.ok(res.rows.every((r) => typeof r['full_name'] === 'string' && r['full_name'] !== ''), 'renamed column kept its values');
    } finally {
      await q.close();
      await state.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a change holding a column its recorded schema lacks stops the pipeline before it is stored (a schema recorded by an earlier configuration)', async () => {
  const state = new MemoryStateStore();
  const w = new Workload(SEED, { source: 'shop', database: 'shop', schema: 'public', startMillis: Date.parse('2024-01-01T00:00:00Z') });
  let e = w.next();
  while (e.source.table !== 'customers' || e.after === null) e = w.next();
  // An earlier run (no transforms) recorded the source's own schema.
  const earlier = new EdgeSchemas('shop', [], state, silentLogger);
  await earlier.record(generatorSchemas('shop', 'shop', 'public'));
  await earlier.check([e]);
  const renamed = { ...e, after: { ...e.after, full_name: e.after['name'] ?? null } } as ChangeEvent;
  const now = new EdgeSchemas('shop', [], state, silentLogger);
  await assert.rejects(now.check([renamed]), (err: unknown) => err instanceof SchemaMismatchError && /holds column "full_name"/.test(err.message));
});

test('the schema guard checks every change of an interleaved batch against the schema of its own table and version', async () => {
  const state = new MemoryStateStore();
  const w = new Workload(SEED, { source: 'shop', database: 'shop', schema: 'public', startMillis: Date.parse('2024-01-01T00:00:00Z') });
  const batch = Array.from({ length: 600 }, () => w.next());
  assert.ok(new Set(batch.map((e) => e.source.table)).size >= 3, 'the batch interleaves tables');
  const schemas = generatorSchemas('shop', 'shop', 'public');
  const customers = schemas.find((s) => s.table === 'customers')!;
  // Version 2 of customers lost a column that version 1 has.
  const dropped = customers.columns.find((c) => !customers.primaryKey.includes(c.name))!.name;
  const v2 = { ...customers, version: 2, columns: customers.columns.filter((c) => c.name !== dropped) };
  const edge = new EdgeSchemas('shop', [], state, silentLogger);
  await edge.record([...schemas, v2]);
  await edge.check(batch);
  const lastCustomer = batch.findLastIndex((e) => e.source.table === 'customers' && e.op !== 'delete' && e.after !== null && dropped in e.after);
  assert.ok(lastCustomer > 0 && batch.slice(0, lastCustomer).some((e) => e.source.table !== 'customers'), 'a customer change follows changes of other tables');
  // The same change under version 2 (while earlier customer changes in the batch are version 1) holds the dropped column.
  const asV2 = [...batch.slice(0, lastCustomer), { ...batch[lastCustomer]!, schemaVersion: 2 } as ChangeEvent];
  await assert.rejects(edge.check(asV2), (err: unknown) => err instanceof SchemaMismatchError && err.message.includes(`holds column "${dropped}"`) && err.message.includes('customers'));
  // An extra column in the key, the before image or the after image of a change after other tables' changes.
  for (const field of ['key', 'before', 'after'] as const) {
    const i = batch.findLastIndex((e) => e.source.table === 'orders' && e[field] !== null);
    assert.ok(i > 0, `an orders change with ${field}`);
    const bad = { ...batch[i]!, [field]: { ...batch[i]![field], extra_col: 1 } } as ChangeEvent;
    await assert.rejects(edge.check([...batch.slice(0, i), bad, ...batch.slice(i + 1)]), (err: unknown) => err instanceof SchemaMismatchError && /holds column "extra_col"/.test(err.message) && /orders/.test(err.message), field);
  }
  // A version nobody recorded is not checked (no schema: the lake infers), even after a checked one of the same table.
  await edge.check([batch[lastCustomer]!, { ...batch[lastCustomer]!, schemaVersion: 7, after: { ...batch[lastCustomer]!.after, extra_col: 1 } } as ChangeEvent]);
});

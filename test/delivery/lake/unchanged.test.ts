/**
 * TOAST-unchanged columns: a change whose `unchanged` list is not empty gets an `_unchanged`
 * column (JSON array of names, last column) in every format; objects without such a change look
 * exactly as before; the catalog's version columns do not depend on which object came first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChangeEvent } from '../../../src/core/change-event.ts';
import { silentLogger } from '../../../src/core/logger.ts';
import { Metrics } from '../../../src/core/metrics.ts';
import { FsObjectStore } from '../../../src/lake/fs/fs-object-store.ts';
import { listObjects, listTableVersions } from '../../../src/lake/catalog/catalog.ts';
import { lakeDeliveryConfig, type LakeDeliveryConfig } from '../../../src/delivery/lake/config.ts';
import { LakeDelivery } from '../../../src/delivery/lake/lake-delivery.ts';
import { MemoryStateStore } from '../../../src/state/memory-state-store.ts';
import { ORDERS, orderChange, putSchema, records, StateCommitter } from './fixtures.ts';
import { duckRows as read } from '../../support/duckdb.ts';

/** An update of order `id` that did not carry `region` (as PostgreSQL does for a TOASTed value). */
function partialUpdate(id: number, ms: number): ChangeEvent {
  const e = orderChange(id, 'update', ms);
  const after = { ...e.after };
  delete after['region'];
  return { ...e, after, unchanged: ['region'] };
}

function reader(format: string, path: string): string {
  if (format === 'parquet') return `read_parquet('${path}', hive_partitioning = false)`;
  if (format === 'jsonl') return `read_json('${path}', format = 'newline_delimited', hive_partitioning = false)`;
  return `read_csv('${path}', header = true, allow_quoted_nulls = false, hive_partitioning = false)`;
}

for (const format of ['parquet', 'jsonl', 'csv'] as const) {
  for (const layout of ['hydrant', 'dms'] as const) {
    test(`${format}, ${layout} layout: _unchanged is the last column of objects holding a partial change, absent elsewhere`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'hydrant-unchanged-'));
      try {
        const state = new MemoryStateStore();
        await putSchema(state, ORDERS);
        const lake = new FsObjectStore(join(dir, 'lake'));
        const cfg: Partial<LakeDeliveryConfig> = { buffer_interval_s: 0, format, compression: 'none', layout };
        const d = new LakeDelivery(lakeDeliveryConfig.parse(cfg), { name: 'to_lake', dataDir: dir, state, lake, logger: silentLogger, metrics: new Metrics() });
        await d.start(new StateCommitter(state));
        // Hour 03: whole rows only. Hour 04: one partial update among whole rows.
        const h3 = Date.UTC(2024, 0, 2, 3, 0, 0);
        const h4 = Date.UTC(2024, 0, 2, 4, 0, 0);
        await d.write('s', records('s', [orderChange(1, 'insert', h3), orderChange(2, 'insert', h3)], 1));
        await d.write('s', records('s', [orderChange(3, 'insert', h4), partialUpdate(3, h4), orderChange(3, 'update', h4)], 3));
        await d.close();
        const objs = (await listObjects(state)).filter((o) => o.kind === 'changes');
        assert.equal(objs.length, 2);
        const [whole, partial] = objs.sort((a, b) => Number(a.firstSequence) - Number(b.firstSequence)) as [typeof objs[0], typeof objs[0]];
        const wholeCols = Object.keys((await read(`SELECT * FROM ${reader(format, lake.pathOf(whole.key))} LIMIT 1`))[0] ?? {});
        assert.ok(!wholeCols.includes('_unchanged'), `no _unchanged column without partial changes: ${wholeCols.join(',')}`);
        const rows = await read(`SELECT * FROM ${reader(format, lake.pathOf(partial.key))}`);
        const cols = Object.keys(rows[0] ?? {});
        assert.equal(cols.at(-1), '_unchanged', `columns: ${cols.join(',')}`);
        assert.deepEqual(cols.slice(0, -1), wholeCols, 'the other columns are unchanged, in the same order');
        assert.deepEqual(rows.map((r) => r['_unchanged'] ?? null), [null, '["region"]', null]);
        assert.deepEqual(rows.map((r) => r['region'] ?? null), ['eu', null, 'eu']);
        const versions = await listTableVersions(state);
        assert.equal(versions.length, 1);
        assert.ok(!versions[0]?.columns.some((c) => c.name === '_unchanged'), 'catalog version columns leave _unchanged out');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}

for (const format of ['parquet', 'jsonl', 'csv'] as const) {
  test(`${format}: a key-changing update gets _old_key (lossless JSON of the old key) after _unchanged; other updates leave it NULL`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hydrant-oldkey-'));
    try {
      const state = new MemoryStateStore();
      await putSchema(state, ORDERS);
      const lake = new FsObjectStore(join(dir, 'lake'));
      const d = new LakeDelivery(lakeDeliveryConfig.parse({ buffer_interval_s: 0, format, compression: 'none' }), { name: 'to_lake', dataDir: dir, state, lake, logger: silentLogger, metrics: new Metrics() });
      await d.start(new StateCommitter(state));
      const ms = Date.UTC(2024, 0, 2, 3, 0, 0);
      const moved = orderChange(9, 'update', ms); // before and after both have id 9: the same key
      const move: ChangeEvent = { ...moved, before: { ...moved.before, id: 3n } };
      await d.write('s', records('s', [orderChange(3, 'insert', ms), move, partialUpdate(9, ms)], 1));
      await d.close();
      const [obj] = (await listObjects(state)).filter((o) => o.kind === 'changes');
      assert.ok(obj !== undefined);
      const rows = await read(`SELECT * FROM ${reader(format, lake.pathOf(obj.key))}`);
      assert.deepEqual(Object.keys(rows[0] ?? {}).slice(-2), ['_unchanged', '_old_key']);
      assert.deepEqual(rows.map((r) => r['_old_key'] ?? null), [null, '{"id":{"$i":"3"}}', null]);
      assert.ok(!(await listTableVersions(state))[0]?.columns.some((c) => c.name === '_old_key'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

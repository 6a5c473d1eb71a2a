import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tableSummaries } from '../../src/lake/catalog/table-summary.ts';
import { registerObject, tableVersionKey, type CatalogObject } from '../../src/lake/catalog/catalog.ts';
import { manifestKeys, type Manifest } from '../../src/lake/current/manifest.ts';
import { MemoryStateStore } from '../../src/state/memory-state-store.ts';
import type { StateValue } from '../../src/state/state-store.ts';

const obj = (o: Partial<CatalogObject>): CatalogObject => ({ key: 'k', kind: 'changes', table: 'shop.public.orders', delivery: 'd', shard: 's', buffer: 'b', partition: {}, schemaVersion: 1, format: 'parquet', compression: 'zstd', rows: 1, bytes: 10, firstSequence: '1', lastSequence: '1', minTime: 0, maxTime: 0, committedAt: 0, ...o });

test('tableSummaries: change, event and current-state tables with versions, objects, rows, bytes, partitions, errors', async () => {
  const state = new MemoryStateStore();
  await state.commit([
    registerObject(obj({ firstSequence: '1', rows: 5, bytes: 100, partition: { hour: '03' } })),
    registerObject(obj({ firstSequence: '6', rows: 2, bytes: 50, partition: { hour: '04' }, schemaVersion: 2 })),
    registerObject(obj({ firstSequence: '8', rows: 1, bytes: 5, kind: 'errors', table: 'd' })),
    registerObject(obj({ firstSequence: '9', rows: 3, bytes: 30, kind: 'events', table: 'events.clicks', delivery: 'e' })),
    { type: 'put', key: tableVersionKey('shop.public.orders', 3), value: { table: 'shop.public.orders', version: 3, columns: [], registeredAt: 0 } },
  ]);
  const m: Manifest = { format: 1, table: { source: 'shop', schema: 'public', table: 'orders' }, version: 2, buckets: 4, schemaVersion: 2, highWater: null, files: [{ bucket: 0, key: 'c/0.parquet', rows: 4, bytes: 40, schemaVersion: 2 }, { bucket: 1, key: 'c/1.parquet', rows: 3, bytes: 30, schemaVersion: 2 }], rows: 7, checkpoint: null, committedAt: '2024-01-01T00:00:00Z', sourceCommitTime: null } as unknown as Manifest;
  const keys = manifestKeys(m.table);
  await state.commit([{ type: 'put', key: keys.head, value: { version: 2 } }, { type: 'put', key: keys.version(2), value: m as unknown as StateValue }]);
  const rows = await tableSummaries(state);
  assert.deepEqual(rows.map((r) => [r.queryAs, r.kind, r.schemaVersions.join(','), r.objects, r.rows, r.bytes, r.partitions, r.errorObjects]), [
    ['events.clicks', 'events', '1', 1, 3, 30, 1, 0],
    ['shop.public.orders', 'current', '2', 2, 7, 70, 2, 0],
    ['shop.public.orders_changes', 'changes', '1,2,3', 2, 7, 150, 2, 1],
  ]);
});

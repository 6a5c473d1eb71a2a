/**
 * One side of the lake benchmark, in its own process so peak RSS is its own:
 * `node --import tsx bench/lake-worker.ts hydrant|duckdb N DIR` prints one JSON line
 * `{ rows, seconds, maxRssMiB, bytes }`. Both sides get the same generated change rows;
 * generating and encoding them is outside the timed part.
 */
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBDataChunk, DuckDBInstance, DuckDBDecimalValue, DuckDBTimestampTZValue, type DuckDBValue } from '@duckdb/node-api';
import { encodeEnvelope, type ChangeEvent } from '../src/core/change-event.ts';
import { schemaKey, type TableSchema } from '../src/core/schema.ts';
import { silentLogger } from '../src/core/logger.ts';
import { Metrics } from '../src/core/metrics.ts';
import { Decimal, Timestamp, type Row } from '../src/core/values.ts';
import { lakeDeliveryConfig } from '../src/delivery/lake/config.ts';
import { LakeDelivery } from '../src/delivery/lake/lake-delivery.ts';
import type { DeliveryRecord } from '../src/delivery/delivery.ts';
import { FsObjectStore } from '../src/lake/fs/fs-object-store.ts';
import { MemoryStateStore } from '../src/state/memory-state-store.ts';
import type { StateValue } from '../src/state/state-store.ts';

const [mode, nArg, dir] = process.argv.slice(2) as [string, string, string];
const n = Number(nArg);
const BATCH = 10_000;
const T0 = Date.UTC(2024, 0, 1);

const SCHEMA: TableSchema = {
  source: 'shop', database: 'shop', schema: 'public', table: 'orders', version: 1, primaryKey: ['id'],
  columns: [
    { name: 'id', type: { kind: 'int64' }, nullable: false },
    { name: 'customer', type: { kind: 'string' }, nullable: true },
    { name: 'amount', type: { kind: 'decimal', precision: 12, scale: 2 }, nullable: true },
    { name: 'qty', type: { kind: 'int32' }, nullable: true },
    { name: 'region', type: { kind: 'string' }, nullable: true },
    { name: 'paid', type: { kind: 'boolean' }, nullable: true },
    { name: 'created_at', type: { kind: 'timestamptz' }, nullable: true },
    { name: 'note', type: { kind: 'string' }, nullable: true },
  ],
};

function row(i: number): Row {
  return { id: BigInt(i), customer: `customer-${i % 9973}`, amount: new Decimal(`${i % 100000}.${String(i % 100).padStart(2, '0')}`), qty: i % 17, region: ['eu', 'us', 'ap', 'sa'][i % 4] as string, paid: i % 3 === 0, created_at: Timestamp.fromMillis(T0 + i * 1000), note: i % 5 === 0 ? null : `note ${i}` };
}

function change(i: number, r: Row): ChangeEvent {
  return { op: i % 10 === 0 ? 'update' : 'insert', source: { kind: 'bench', name: 'shop', database: 'shop', schema: 'public', table: 'orders', position: String(i).padStart(16, '0'), commitTime: Timestamp.fromMillis(T0 + i) }, key: { id: r['id'] ?? null }, before: null, after: r, schemaVersion: 1 };
}

function dirBytes(d: string): number {
  let total = 0;
  for (const e of readdirSync(d, { withFileTypes: true, recursive: true })) if (e.isFile()) total += statSync(join(e.parentPath, e.name)).size;
  return total;
}

let timed = 0;
mkdirSync(dir, { recursive: true });
if (mode === 'hydrant') {
  const state = new MemoryStateStore();
  await state.commit([{ type: 'put', key: schemaKey(SCHEMA, 1), value: SCHEMA as unknown as StateValue }]);
  const lake = new FsObjectStore(join(dir, 'lake'));
  const d = new LakeDelivery(lakeDeliveryConfig.parse({ format: 'parquet', compression: 'zstd', changes_prefix: 'databases/{source}/{schema}/{table}/changes', buffer_size_mib: 64, buffer_interval_s: 900, memory_budget_mib: 256 }), { name: 'bench', dataDir: dir, state, lake, logger: silentLogger, metrics: new Metrics() });
  await d.start({ commit: async (shard, seq, ops = []) => state.commit([...ops, { type: 'put', key: `consumers/bench/${shard}`, value: seq }]) });
  for (let i = 0; i < n; i += BATCH) {
    const batch: DeliveryRecord[] = [];
    for (let j = i; j < Math.min(n, i + BATCH); j++) {
      const e = change(j, row(j));
      batch.push({ envelope: e, record: { partitionKey: 'k', data: encodeEnvelope(e), arrivalTime: T0, sequence: String(j + 1), shardId: 'shard-0' } });
    }
    const t = performance.now();
    await d.write('shard-0', batch);
    timed += performance.now() - t;
  }
  const t = performance.now();
  await d.flush();
  timed += performance.now() - t;
  await d.close();
} else {
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const c = await db.connect();
  await c.run(`CREATE TABLE t (_op VARCHAR, _commit_time TIMESTAMPTZ, _position VARCHAR, _shard VARCHAR, _sequence VARCHAR, id BIGINT, customer VARCHAR, amount DECIMAL(12,2), qty INTEGER, region VARCHAR, paid BOOLEAN, created_at TIMESTAMPTZ, note VARCHAR)`);
  const a = await c.createAppender('t');
  const types = Array.from({ length: 13 }, (_, k) => a.columnType(k));
  // DuckDB's fastest ingest path from JS: column vectors in data chunks of 2048 rows.
  for (let i = 0; i < n; i += BATCH) {
    const rows: Array<[ChangeEvent, Row]> = [];
    for (let j = i; j < Math.min(n, i + BATCH); j++) {
      const r = row(j);
      rows.push([change(j, r), r]);
    }
    const t = performance.now();
    for (let s = 0; s < rows.length; s += 2048) {
      const part = rows.slice(s, s + 2048);
      const cols: DuckDBValue[][] = types.map(() => []);
      part.forEach(([e, r], k) => {
        const dec = (r['amount'] as Decimal).text;
        const vals: DuckDBValue[] = [e.op, new DuckDBTimestampTZValue(e.source.commitTime.micros as bigint), e.source.position, 'shard-0', String(i + s + k + 1), r['id'] as bigint, r['customer'] as string, new DuckDBDecimalValue(BigInt(dec.replace('.', '')), 12, 2), r['qty'] as number, r['region'] as string, r['paid'] as boolean, new DuckDBTimestampTZValue((r['created_at'] as Timestamp).micros as bigint), r['note'] as string | null];
        vals.forEach((v, x) => (cols[x] as DuckDBValue[]).push(v));
      });
      const chunk = DuckDBDataChunk.create(types, part.length);
      chunk.setColumns(cols);
      a.appendDataChunk(chunk);
    }
    timed += performance.now() - t;
  }
  const t = performance.now();
  a.closeSync();
  await c.run(`COPY t TO '${join(dir, 'peer.parquet')}' (FORMAT parquet, COMPRESSION zstd)`);
  timed += performance.now() - t;
  c.closeSync();
  db.closeSync();
}
process.stdout.write(JSON.stringify({ rows: n, seconds: timed / 1000, maxRssMiB: process.resourceUsage().maxRSS / 1024, bytes: dirBytes(dir) }) + '\n');

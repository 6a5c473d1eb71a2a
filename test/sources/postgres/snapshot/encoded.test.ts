/**
 * Encoded mode of the load inside the exported snapshot (the runner's `encodedBatches`): every
 * record is exactly `encodeEnvelope` of the event the object mode builds for the same row, with
 * `partitionKeyOf` as its partition key, the same position and table — for every common type,
 * NULLs, a composite key, and the columns the JSON writer leaves to the object path
 * (`$`-prefixed and integer-like names).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeEnvelope, partitionKeyOf, type ChangeEvent } from '../../../../src/core/change-event.ts';
import { encodedRecord, type EncodedEvents } from '../../../../src/core/encoded-events.ts';
import { silentLogger } from '../../../../src/core/logger.ts';
import { Metrics } from '../../../../src/core/metrics.ts';
import { Timestamp } from '../../../../src/core/values.ts';
import { TableSelection } from '../../../../src/sources/postgres/config.ts';
import { formatPosition } from '../../../../src/sources/postgres/lsn.ts';
import { PG_TYPE_SQL, TypeResolver, type PgTypeRow } from '../../../../src/sources/postgres/type-map.ts';
import { connectReader } from '../../../../src/sources/postgres/snapshot/chunk-reader.ts';
import { exportSnapshot } from '../../../../src/sources/postgres/snapshot/exported-snapshot.ts';
import { FirstPass } from '../../../../src/sources/postgres/snapshot/first-pass.ts';
import { SnapshotProgress } from '../../../../src/sources/postgres/snapshot/progress.ts';
import type { ChunkTask } from '../../../../src/sources/postgres/snapshot/snapshot-tasks.ts';
import { TablePlanner } from '../../../../src/sources/postgres/snapshot/table-planner.ts';
import { MemoryStateStore } from '../../../../src/state/memory-state-store.ts';
import { startAppServer } from './helpers.ts';

test('encoded snapshot records equal the object path, byte for byte', async (t) => {
  const server = await startAppServer(t);
  const sqls = [
    `create type mood as enum ('sad', 'ok', 'happy')`,
    `create table t (id int8 primary key, b bool, i2 int2, i4 int4, f4 float4, f8 float8, n numeric, n2 numeric(12,3), tx text, vc varchar(10), bp char(3),
      d date, ts timestamp, tz timestamptz, tm time, ttz timetz, iv interval, u uuid, j json, jb jsonb, by bytea, m mood, ai int4[], at text[], inet1 inet, mon money)`,
    `insert into t values
      (1, true, -32768, 2147483647, 1.5, 1e300, 123456789012345678901234567890.123456789, 12.5, 'héllo "q"\\n', 'v', 'ab', '2024-02-29', '2024-02-29 12:34:56.123456', '2024-02-29 12:34:56.5+02', '23:59:59.999999', '10:00:00-03:30', '1 year 2 months 3 days 04:05:06.7', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": 12345678901234567890}', '{"b": [1, 2.50]}', '\\xdeadbeef', 'happy', '{1,NULL,3}', '{"a b","c\\"d",NULL}', '10.0.0.1/8', 12.34),
      (2, false, 0, -1, 'NaN', '-Infinity', 'NaN', -0.001, '', '', '', 'infinity', '-infinity', 'infinity', '00:00:00', '00:00:00+00', '-1 day -00:00:01', '00000000-0000-0000-0000-000000000000', 'null', '[]', '\\x', 'sad', '{}', '{}', '::1', -1),
      (3, null, null, null, null, null, 0.00, 0, null, null, null, '0044-03-15 BC', '0044-03-15 12:00:00 BC', '1900-01-01 00:00:00+00', null, null, '0 seconds', null, null, null, null, null, null, null, null, null),
      (-9223372036854775808, true, 1, 1, '-0', 'Infinity', '-0.000000001', 99999999.999, 'x', 'x', 'x', '1970-01-01', '294276-12-31 23:59:59.999999', '4713-01-01 00:00:00+00 BC', '12:00:00', '12:00:00+05:45', '-178000000 years', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '1', '{"z":1,"a":2}', '\\x00ff', 'ok', '{-2147483648}', '{""}', '192.168.1.1', 0)`,
    `insert into t (id, n, n2, tx, tz) select 10 + g, (g * 7919)::numeric / 13, g * 1.001, repeat('é', g % 90), now() - g * interval '1 second' from generate_series(1, 3000) g`,
    `create table comp (a text, b int, "$x" int, "1" text, v text, primary key (b, a))`,
    `insert into comp select 'k' || g, g, g, 'one', null from generate_series(1, 50) g`,
    `create table nokey (v int, w text)`,
    `insert into nokey select g, 'w' || g from generate_series(1, 20) g`,
  ];
  for (const q of sqls) await server.query(q, [], 'app');
  const connect = { ...server.connection('app'), applicationName: 'test' };
  const sql = await connectReader(connect, 'catalog');
  const metrics = new Metrics();
  const progress = new SnapshotProgress('pg', metrics, silentLogger);
  try {
    const settings = { snapshot: 'only', snapshot_chunk_rows: 500, snapshot_workers: 1, snapshot_max_rows_per_second: 0, snapshot_retry_max_ms: 1000 } as const;
    const resolver = new TypeResolver(async (oid) => (await sql.query(PG_TYPE_SQL, [oid])).rows[0] as PgTypeRow | undefined, silentLogger);
    const selection = new TableSelection({ include: ['public.*'], exclude: [], exclude_columns: [] });
    const planner = new TablePlanner({ source: 'pg', database: 'app', settings, resolver, selection, state: new MemoryStateStore(), sql, logger: silentLogger, progress, commitTime: Timestamp.fromMillis(Date.now()) });
    const tasks: ChunkTask[] = [];
    for (const table of ['t', 'comp', 'nokey']) {
      const oid = Number((await sql.query(`select '${table}'::regclass::oid::int as oid`)).rows[0].oid);
      tasks.push(...(await planner.plan(sql, { schema: 'public', table, oid }, 'only', undefined)));
    }
    async function load(encoded: boolean): Promise<{ events: ChangeEvent[]; enc: EncodedEvents[] }> {
      const exported = await exportSnapshot(connect);
      const first = new FirstPass({
        connect: () => connectReader(connect, 'snapshot reader'),
        snapshotName: exported.name,
        prefix: formatPosition(exported.positionLsn, 0).slice(0, 17),
        workers: 1,
        tasks,
        retryMaxMs: 1000,
        deferAfter: undefined,
        maxQueued: 700,
        encoded,
        logger: silentLogger,
        progress,
        onFinished: () => {},
        onDeferred: () => assert.fail('no chunk fails'),
      });
      first.start();
      const events: ChangeEvent[] = [];
      const enc: EncodedEvents[] = [];
      const ac = new AbortController();
      try {
        while (first.active) {
          // Uneven batch sizes cut the queue anywhere.
          const b = await first.take(1 + ((events.length + enc.length * 37) % 900), 50, ac.signal);
          events.push(...b.events);
          if (b.encoded !== undefined) enc.push(b.encoded);
        }
      } finally {
        await first.close();
        await exported.release();
      }
      return { events, enc };
    }
    const objects = (await load(false)).events;
    const { events: none, enc } = await load(true);
    assert.equal(none.length, 0, 'encoded mode hands out no objects');
    assert.ok(objects.length === 3004 + 50 + 20, `rows ${objects.length}`);
    const records = enc.flatMap((e) => Array.from({ length: e.count }, (_, i) => ({ bytes: encodedRecord(e, i), key: e.partitionKeys[i], position: e.positions[i], table: e.tables[i] })));
    assert.equal(records.length, objects.length);
    // Positions depend on the snapshot's LSN only through their first 17 characters.
    for (let i = 0; i < objects.length; i++) {
      const e = objects[i] as ChangeEvent;
      const r = records[i] as (typeof records)[number];
      const pos = e.source.position;
      assert.equal(r.position?.slice(17), pos.slice(17), `row ${i}: position`);
      const same = { ...e, source: { ...e.source, position: r.position as string } } as ChangeEvent;
      assert.equal(r.bytes.toString('utf8'), Buffer.from(encodeEnvelope(same)).toString('utf8'), `row ${i} (${e.source.table})`);
      assert.equal(r.key, partitionKeyOf(same), `row ${i}: partition key`);
      assert.equal(r.table, e.source.table);
    }
  } finally {
    await sql.end();
    progress.close();
  }
});

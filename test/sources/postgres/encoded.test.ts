/**
 * Change events written straight as stream records (`encodedBatches`, see encoded-events.ts)
 * against the object path, on the same WAL: two slots of one database, one source each (same
 * source name, so the envelopes must be identical byte for byte), a workload of every common
 * type, NULLs, TOAST-unchanged values, deletes under both replica identities, key changes,
 * truncates, relations the record path leaves to objects (`$` and integer-like column names),
 * and a large transaction streamed with protocol 2 and replayed from its spill file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { envelopeToJson, partitionKeyOf, type ChangeEvent } from '../../../src/core/change-event.ts';
import { encodedRecord } from '../../../src/core/encoded-events.ts';
import type { PostgresSource } from '../../../src/sources/postgres/postgres-source.ts';
import { batchSize } from '../../../src/sources/source.ts';
import { MemoryStateStore } from '../../../src/state/memory-state-store.ts';
import { startPostgres } from '../../support/postgres.ts';
import { makeSource, testContext } from './helpers.ts';
import { join } from 'node:path';
import { silentLogger } from '../../../src/core/logger.ts';
import { Metrics } from '../../../src/core/metrics.ts';
import { FsObjectStore } from '../../../src/lake/fs/fs-object-store.ts';
import { ErrorSink } from '../../../src/runtime/error-sink.ts';
import { SourceLoop } from '../../../src/runtime/source-loop.ts';
import { EmbeddedStreamLog } from '../../../src/stream/embedded/embedded-stream-log.ts';
import { readAll } from '../../stream/stream-log-conformance.ts';

type Rec = readonly [json: string, key: string, position: string, table: string];

/** Drains a source until `want` records; returns them and how many came as records. */
async function drain(src: PostgresSource, want: number): Promise<{ recs: Rec[]; encoded: number }> {
  const recs: Rec[] = [];
  let encoded = 0;
  let empty = 0;
  const ac = new AbortController();
  while (recs.length < want) {
    const b = await src.next(ac.signal);
    for (const e of b.events as ChangeEvent[]) recs.push([envelopeToJson(e), partitionKeyOf(e), e.source.position, e.source.table]);
    const enc = b.encoded;
    if (enc !== undefined) {
      for (let i = 0; i < enc.count; i++) recs.push([encodedRecord(enc, i).toString('utf8'), enc.partitionKeys[i]!, enc.positions[i]!, enc.tables[i]!]);
      encoded += enc.count;
    }
    await src.ack(b.position);
    if (batchSize(b) === 0 && ++empty > 100) throw new Error(`stuck after ${recs.length} of ${want} records`);
  }
  return { recs, encoded };
}

test('records written straight from pgoutput equal the object path byte for byte (keys, positions, tables too)', async () => {
  const pg = await startPostgres({ settings: { logical_decoding_work_mem: '64kB' } });
  const objects = testContext('app');
  const records = testContext('app');
  const a = makeSource(pg, 'postgres', objects.ctx, { slot: 'hydrant_objects', protocol: 2, max_batch_events: 700 });
  const b = makeSource(pg, 'postgres', { ...records.ctx, encodedBatches: true }, { slot: 'hydrant_records', protocol: 2, max_batch_events: 700 });
  try {
    await pg.query(`create type mood as enum ('sad', 'ok', 'happy')`);
    await pg.query(`create table t (id bigint primary key, i2 smallint, i4 int, n numeric(12,3), nn numeric, t text, v varchar(20), c char(3), b bool,
      ts timestamp, tz timestamptz, d date, f8 float8, f4 real, j json, jb jsonb, u uuid, by bytea, ai int[], at text[], m mood, big text)`);
    await pg.query(`create table full_ident (k int, v text)`);
    await pg.query(`alter table full_ident replica identity full`);
    await pg.query(`create table composite (a text, b int, v text, primary key (b, a))`);
    await pg.query(`create table odd ("$d" int primary key, "1" text, x text)`);
    await a.start(null);
    await b.start(null);
    // A third slot for the runner's own loop (below): created now, so it sees the same WAL.
    await pg.query(`select pg_create_logical_replication_slot('hydrant_durable', 'pgoutput')`);
    await pg.query(`insert into t values
      (1, -32768, 2147483647, -123456789.125, 'NaN', E'quote " back \\\\ tab \\t nl \\n', 'é中😀', 'ab', true,
       '2026-11-22 01:02:03.456789', '2026-11-22 01:02:03.5+05:30', '2026-11-22', 'Infinity', -0.5, '{"a": 12345678901234567890}', '{"b": [1, 2.50]}',
       'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x00ff', '{1,NULL,3}', '{"a b","x\\"y",NULL}', 'happy', repeat('x', 120000)),
      (2, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null),
      (-9223372036854775808, 0, 0, 0, '-Infinity', '', '', '', false, 'infinity', '-infinity', '0044-03-15 BC', 'NaN', 1e30, 'null', '[]',
       '00000000-0000-0000-0000-000000000000', '\\x', '{}', '{}', 'sad', 'small')`);
    await pg.query(`update t set i4 = i4 - 1 where id = 1`); // big stays TOAST-unchanged
    await pg.query(`update t set id = 3 where id = 2`); // key change
    await pg.query(`delete from t where id = 3`);
    await pg.query(`insert into full_ident values (1, 'one'), (2, null)`);
    await pg.query(`update full_ident set v = 'uno' where k = 1`);
    await pg.query(`delete from full_ident where k = 2`);
    await pg.query(`insert into composite values ('x', 1, 'v1'), ('y', 2, null)`);
    await pg.query(`update composite set v = 'v2' where a = 'x'`);
    await pg.query(`delete from composite where b = 2`);
    await pg.query(`insert into odd values (1, 'one', 'x')`);
    await pg.query(`update odd set x = 'y' where "$d" = 1`);
    await pg.query(`begin; insert into t (id, t) select g, 'row ' || g from generate_series(100, 2100) g; update t set t = 'changed' where id between 100 and 600; commit`);
    await pg.query(`truncate full_ident`);
    // t: 3 inserts, 1 update, key change (delete + insert), 1 delete; full_ident: 2 + 1 + 1; composite: 2 + 1 + 1;
    // odd: 1 + 1; the large transaction: 2001 + 501; the truncate: 1.
    const want = 3 + 1 + 2 + 1 + 2 + 1 + 1 + 2 + 1 + 1 + 1 + 1 + 2001 + 501 + 1;
    const fromObjects = await drain(a, want);
    const fromRecords = await drain(b, want);
    assert.equal(fromObjects.encoded, 0, 'without encodedBatches the source hands out objects');
    assert.ok(fromRecords.encoded >= want - 10, `most changes came as records (${fromRecords.encoded} of ${want})`);
    assert.equal(fromRecords.recs.length, fromObjects.recs.length);
    for (let i = 0; i < want; i++) assert.deepEqual(fromRecords.recs[i], fromObjects.recs[i], `record ${i}`);

    // The same changes through the runner's loop into a one-shard stream log, in small batches:
    // the log writes each packed batch from the source's buffer (no copy) and the source reuses
    // a batch's buffer once it is acknowledged. Every record read back must still be intact.
    const durable = testContext('app');
    const log = new EmbeddedStreamLog({ dataDir: join(durable.dataDir, 'log'), logger: silentLogger, retentionIntervalMs: 0 });
    try {
      await log.ensureStream('changes', { shards: 1 });
      const c = makeSource(pg, 'postgres', { ...durable.ctx, log, encodedBatches: true }, { slot: 'hydrant_durable', protocol: 2, max_batch_events: 300 });
      const metrics = new Metrics();
      const loop = new SourceLoop({ name: 'app', source: c, stream: 'changes', transforms: [], state: durable.ctx.state, log, errors: new ErrorSink(new FsObjectStore(join(durable.dataDir, 'errors')), silentLogger, metrics), logger: silentLogger, metrics, untilCaughtUp: true });
      try {
        await loop.run(new AbortController().signal);
      } finally {
        await c.close();
      }
      const shard = (await log.describeStream('changes')).shards[0]!.shardId;
      const stored = (await readAll(log, 'changes', shard)).map((r) => [Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength).toString('utf8'), r.partitionKey] as const);
      assert.equal(stored.length, want);
      for (let i = 0; i < want; i++) assert.deepEqual(stored[i], [fromObjects.recs[i]![0], fromObjects.recs[i]![1]], `stream record ${i}`);
    } finally {
      await log.close();
      durable.cleanup();
    }
  } finally {
    await a.close();
    await b.close();
    await pg.stop();
    objects.cleanup();
    records.cleanup();
  }
});

/** DMS layout, object-created notifications, prefix templates and schema-version logging. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeEnvelope, type LogEvent } from '../../../src/core/change-event.ts';
import { createLogger, silentLogger } from '../../../src/core/logger.ts';
import { Metrics } from '../../../src/core/metrics.ts';
import { Timestamp } from '../../../src/core/values.ts';
import { lakeDeliveryConfig, type LakeDeliveryConfig } from '../../../src/delivery/lake/config.ts';
import { LakeDelivery } from '../../../src/delivery/lake/lake-delivery.ts';
import { PrefixTemplate, partitionValues } from '../../../src/delivery/partitioning.ts';
import { listTableVersions } from '../../../src/lake/catalog/catalog.ts';
import { FsObjectStore } from '../../../src/lake/fs/fs-object-store.ts';
import { EmbeddedStateStore } from '../../../src/state/embedded/embedded-state-store.ts';
import type { StateStore } from '../../../src/state/state-store.ts';
import { EmbeddedStreamLog } from '../../../src/stream/embedded/embedded-stream-log.ts';
import type { StreamLog } from '../../../src/stream/stream-log.ts';
import { ORDERS, orderChange, putSchema, records, StateCommitter } from './fixtures.ts';

function make(dir: string, state: StateStore, cfg: Partial<LakeDeliveryConfig>, extra: { log?: StreamLog; lines?: string[] } = {}): LakeDelivery {
  const logger = extra.lines === undefined ? silentLogger : createLogger({ level: 'info', sink: (l) => extra.lines?.push(l) });
  return new LakeDelivery(lakeDeliveryConfig.parse({ buffer_interval_s: 0, ...cfg }), { name: 'to_lake', dataDir: dir, state, lake: new FsObjectStore(join(dir, 'lake')), log: extra.log, logger, metrics: new Metrics() });
}

test('DMS layout: LOAD00000001.. for full loads, commit-time names and Op I/U/D first for changes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-dms-'));
  const state = await EmbeddedStateStore.open({ dataDir: dir });
  try {
    await putSchema(state, ORDERS);
    const d = make(dir, state, { layout: 'dms', format: 'csv', compression: 'none', dms_commit_timestamp: true });
    await d.start(new StateCommitter(state));
    const t0 = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
    await d.write('s', records('s', [orderChange(1, 'snapshot', t0), orderChange(2, 'snapshot', t0)], 1));
    await d.write('s', records('s', [orderChange(3, 'snapshot', t0)], 3));
    await d.write('s', records('s', [orderChange(1, 'update', t0 + 1000), orderChange(2, 'delete', t0 + 2000), orderChange(4, 'insert', t0 + 3000)], 4));
    await d.flush();
    await d.close();
    const lake = new FsObjectStore(join(dir, 'lake'));
    const keys = (await lake.list('')).map((o) => o.key);
    assert.deepEqual(keys, ['public/orders/20240102-030406678-s-4.csv', 'public/orders/LOAD00000001.csv', 'public/orders/LOAD00000002.csv']);
    const cdc = Buffer.from(await lake.get(keys[0] as string)).toString().split('\r\n');
    assert.match(cdc[0] ?? '', /^Op,_dms_commit_timestamp,id,customer,amount,region,/);
    assert.deepEqual(cdc.slice(1, 4).map((l) => l.split(',').slice(0, 3).join(',')), ['U,2024-01-02T03:04:06.678000Z,1', 'D,2024-01-02T03:04:07.678000Z,2', 'I,2024-01-02T03:04:08.678000Z,4']);
    const load = Buffer.from(await lake.get('public/orders/LOAD00000001.csv')).toString().split('\r\n');
    assert.deepEqual(load.slice(1, 3).map((l) => l.split(',')[0]), ['I', 'I']);
  } finally {
    await state.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('object-created notifications: appended after commit, re-sent after a failure (at least once)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-notify-'));
  const state = await EmbeddedStateStore.open({ dataDir: dir });
  const log = new EmbeddedStreamLog({ dataDir: dir, state, retentionIntervalMs: 0 });
  try {
    await putSchema(state, ORDERS);
    // First run: the stream log refuses the notification after the object is committed.
    let fail = true;
    const flaky: StreamLog = Object.assign(Object.create(log) as StreamLog, {
      append: async (s: string, r: Parameters<StreamLog['append']>[1]) => {
        if (fail) throw new Error('log unavailable');
        return log.append(s, r);
      },
      ensureStream: (n: string, o: { shards: number }) => log.ensureStream(n, o),
    });
    const d1 = make(dir, state, { notify_stream: 'lake-objects', format: 'jsonl' }, { log: flaky });
    await d1.start(new StateCommitter(state));
    await assert.rejects(d1.write('s', records('s', [orderChange(1), orderChange(2)])), /log unavailable/);
    await d1.close();
    assert.equal((await state.list('catalog/objects/')).length, 1, 'the object is committed');
    assert.equal((await state.list('lake-notify/')).length, 1, 'its notification is pending');
    fail = false;
    const d2 = make(dir, state, { notify_stream: 'lake-objects', format: 'jsonl' }, { log });
    await d2.start(new StateCommitter(state));
    await d2.write('s', records('s', [orderChange(3)], 3));
    await d2.flush();
    await d2.close();
    assert.deepEqual(await state.list('lake-notify/'), []);
    const got = await log.read('lake-objects', (await log.describeStream('lake-objects')).shards[0]?.shardId as string, { type: 'TRIM_HORIZON' });
    const events = got.records.map((r) => (decodeEnvelope(r.data) as LogEvent).data as Record<string, unknown>);
    assert.deepEqual(events.map((e) => [e['event'], e['table'], String(e['rows']), e['firstSequence'], e['lastSequence']]), [['object_created', 'shop.public.orders', '2', '1', '2'], ['object_created', 'shop.public.orders', '1', '3', '3']]);
    assert.match(String(events[0]?.['key']), /^databases\/shop\/public\/orders\/changes\/year=2024\/.*to_lake-s-1-2\.jsonl\.zst$/);
    assert.ok(Number(events[0]?.['bytes']) > 0);
  } finally {
    await log.close();
    await state.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('prefix templates: fields, partition keys, event and arrival time in a time zone, hive values', () => {
  const e = orderChange(5, 'insert', Date.UTC(2024, 0, 1, 2, 30));
  const t = new PrefixTemplate('t/{source}/{schema}/{table}/tenant={key:tenant}/r={field:region}/d={event_time:YYYY-MM-DD}/h={event_time:HH}/a={arrival_time:YYYYMMDDHHmmss}', 'America/New_York');
  const p = t.render({ envelope: e, arrivalTime: Date.UTC(2024, 6, 1, 12, 0, 0), partitionKeys: { tenant: 'a/b' }, delivery: 'x' });
  assert.equal(p, 't/shop/public/orders/tenant=a%2Fb/r=ap/d=2023-12-31/h=21/a=20240701080000');
  assert.deepEqual(partitionValues(p), { tenant: 'a/b', r: 'ap', d: '2023-12-31', h: '21', a: '20240701080000' });
  assert.equal(new PrefixTemplate('x/{field:missing}/{field:customer}', 'UTC').render({ envelope: e, arrivalTime: 0, delivery: 'x' }), 'x/__null__/c5');
  assert.throws(() => new PrefixTemplate('x/{nope}', 'UTC'), /unknown placeholder \{nope\}/);
  assert.throws(() => new PrefixTemplate('x/{field}', 'UTC'), /needs a field name/);
  assert.throws(() => new PrefixTemplate('x/{event_time:YYYY-Q}', 'UTC'), /may only use YYYY MM DD HH mm ss/);
  assert.throws(() => lakeDeliveryConfig.parse({ time_zone: 'Mars/Olympus' }), /unknown IANA time zone/);
  assert.throws(() => lakeDeliveryConfig.parse({ buffer_interval_s: 901 }));
  assert.throws(() => lakeDeliveryConfig.parse({ buffer_size_mib: 129 }));
});

test('schema versions: an added column is a compatible new version, an incompatible change is logged and goes on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-schemas-'));
  const state = await EmbeddedStateStore.open({ dataDir: dir });
  const lines: string[] = [];
  try {
    await putSchema(state, ORDERS);
    await putSchema(state, { ...ORDERS, version: 2, columns: [...ORDERS.columns, { name: 'coupon', type: { kind: 'string' }, nullable: true }] });
    await putSchema(state, { ...ORDERS, version: 3, columns: ORDERS.columns.map((c) => (c.name === 'id' ? { ...c, type: { kind: 'string' as const } } : c)) });
    const d = make(dir, state, { format: 'parquet' }, { lines });
    await d.start(new StateCommitter(state));
    await d.write('s', records('s', [orderChange(1), { ...orderChange(2, 'insert', undefined, { coupon: 'X' }), schemaVersion: 2 }, { ...orderChange(3, 'insert', undefined, { id: 'three' }), schemaVersion: 3 }]));
    await d.flush();
    await d.close();
    const versions = await listTableVersions(state, 'shop.public.orders');
    assert.deepEqual(versions.map((v) => [v.version, v.incompatibleWith]), [[1, undefined], [2, undefined], [3, 2]]);
    const warn = lines.map((l) => JSON.parse(l) as { level: string; msg: string }).filter((l) => l.level === 'warn');
    assert.equal(warn.length, 1);
    assert.match(warn[0]?.msg ?? '', /table shop\.public\.orders schema version 3 is incompatible with version 2 \(column id changed from int64 to string\); it starts a new schema version and the pipeline goes on/);
    assert.equal((await state.list('catalog/objects/')).length, 3);
  } finally {
    await state.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

void Timestamp;

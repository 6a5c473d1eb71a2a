/**
 * Retention by age and by size deletes whole old segments; records a named consumer has not
 * read are deleted with a warning and a metric (`delete`) or held (`hold`) up to a hard cap.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../../../src/core/logger.ts';
import { Metrics } from '../../../src/core/metrics.ts';
import { MemoryStateStore } from '../../../src/state/memory-state-store.ts';
import { ConsumerCheckpoints } from '../../../src/stream/consumer-checkpoints.ts';
import { EmbeddedStreamLog } from '../../../src/stream/embedded/embedded-stream-log.ts';
import type { RetentionPolicy } from '../../../src/stream/embedded/retention.ts';
import { readAll } from '../stream-log-conformance.ts';

const DAY = 86_400_000;

async function setup(retention: Partial<RetentionPolicy>, fn: (ctx: { log: EmbeddedStreamLog; state: MemoryStateStore; metrics: Metrics; lines: string[]; shard: string; dataDir: string }) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'hydrant-retention-'));
  const state = new MemoryStateStore();
  const metrics = new Metrics();
  const lines: string[] = [];
  const log = new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0, segmentBytes: 2048, state, metrics, logger: createLogger({ level: 'debug', sink: (l) => lines.push(l) }), streams: { s: retention } });
  try {
    const d = await log.ensureStream('s', { shards: 1 });
    for (let b = 0; b < 20; b++) await log.append('s', Array.from({ length: 10 }, (_, i) => ({ partitionKey: 'k', data: Buffer.alloc(50, b * 10 + i) })));
    await fn({ log, state, metrics, lines, shard: d.shards[0]!.shardId, dataDir });
  } finally {
    await log.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const segs = async (dataDir: string, shard: string): Promise<number> => (await readdir(join(dataDir, 'streams', 's', shard))).filter((f) => f.endsWith('.seg')).length;

test('retention by age deletes whole expired segments but keeps the newest', () => setup({ maxAgeMs: DAY }, async ({ log, shard, dataDir, metrics }) => {
  const before = await segs(dataDir, shard);
  assert.ok(before > 3);
  assert.equal((await log.enforceRetention())[0]!.deletedSegments, 0, 'nothing is a day old yet');
  const [report] = await log.enforceRetention(Date.now() + 2 * DAY);
  assert.equal(report!.deletedSegments, before - 1);
  assert.equal(await segs(dataDir, shard), 1);
  const rest = await readAll(log, 's', shard);
  const info = await log.shardInfo('s', shard);
  assert.equal(rest.length, info.records);
  assert.equal(Number(rest[0]!.sequence), Number(info.firstSequence));
  assert.equal(Number(rest.at(-1)!.sequence), 200, 'the newest records stay');
  assert.equal(report!.deletedRecords + rest.length, 200);
  assert.equal(metrics.get('hydrant_stream_retention_deleted_segments_total', { stream: 's' }), before - 1);
}));

test('retention by size deletes oldest segments until the stream fits', () => setup({ maxAgeMs: undefined, maxBytes: 5000 }, async ({ log, shard }) => {
  const before = (await log.shardInfo('s', shard)).bytes;
  assert.ok(before > 5000);
  await log.enforceRetention();
  const info = await log.shardInfo('s', shard);
  assert.ok(info.bytes <= 5000 + 2048, `${info.bytes} bytes left`);
  assert.ok(info.bytes >= 5000 - 2048 - 200, 'only as much as needed was deleted');
  assert.equal((await readAll(log, 's', shard)).length, info.records);
}));

test('unread records deleted under `delete` raise a warning and a metric per consumer', () => setup({ maxAgeMs: DAY, unread: 'delete' }, async ({ log, state, metrics, lines, shard }) => {
  const c = new ConsumerCheckpoints(state, 's', 'slow');
  await c.register(await log.describeStream('s'));
  await c.commit(shard, '00000000000000000010');
  const [report] = await log.enforceRetention(Date.now() + 2 * DAY);
  const lost = report!.unreadDeleted.find((u) => u.consumer === 'slow')!;
  assert.equal(lost.records, report!.deletedRecords - 10, 'the ten records it read are not counted');
  assert.equal(metrics.get('hydrant_stream_retention_unread_deleted_records_total', { stream: 's', shard, consumer: 'slow' }), lost.records);
  assert.ok(lines.some((l) => l.includes('"level":"warn"') && l.includes('has not read') && l.includes('"consumer":"slow"')));
}));

test('`hold` keeps unread segments until read, then deletes them; the hard cap overrides', () => setup({ maxAgeMs: DAY, unread: 'hold' }, async ({ log, state, metrics, lines, shard }) => {
  const c = new ConsumerCheckpoints(state, 's', 'slow');
  await c.register(await log.describeStream('s'));
  await c.commit(shard, '00000000000000000030');
  const later = Date.now() + 2 * DAY;
  const [held] = await log.enforceRetention(later);
  const firstSeg = (await log.shardInfo('s', shard)).firstSequence;
  assert.ok(held!.deletedRecords <= 30, 'only segments fully read were deleted');
  assert.ok(Number(firstSeg) <= 31, 'the first unread record is kept');
  assert.ok(held!.heldBytes > 0);
  assert.equal(metrics.get('hydrant_stream_retention_held_bytes', { stream: 's' }), held!.heldBytes);
  assert.ok(lines.some((l) => l.includes('holding segments')));
  assert.deepEqual(held!.unreadDeleted, []);
  await c.commit(shard, '00000000000000000200');
  const [freed] = await log.enforceRetention(later);
  assert.ok(freed!.deletedSegments > 0);
  assert.equal(freed!.heldBytes, 0);
}));

test('`hold` gives way at holdCapBytes and says so', () => setup({ maxAgeMs: DAY, unread: 'hold', holdCapBytes: 4000 }, async ({ log, state, metrics, shard }) => {
  await new ConsumerCheckpoints(state, 's', 'stuck').register(await log.describeStream('s'));
  const [r] = await log.enforceRetention(Date.now() + 2 * DAY);
  assert.ok(r!.deletedSegments > 0);
  assert.ok((await log.shardInfo('s', shard)).bytes <= 4000 + 2048);
  assert.ok(metrics.get('hydrant_stream_retention_unread_deleted_records_total', { stream: 's', shard, consumer: 'stuck' }) > 0);
}));

test('pipeline stream settings map onto the retention policy', async () => {
  const { retentionFromStreamConfig } = await import('../../../src/stream/embedded/retention.ts');
  assert.deepEqual(retentionFromStreamConfig({ retention_age: 3_600_000, retention_bytes: 1 << 30, retention_policy: 'hold' }), { maxAgeMs: 3_600_000, maxBytes: 1 << 30, unread: 'hold' });
  const log = new EmbeddedStreamLog({ dataDir: tmpdir(), retentionIntervalMs: 0, streams: { a: retentionFromStreamConfig({ retention_age: 1000, retention_policy: 'delete' }) } });
  assert.equal(log.retentionFor('a').maxAgeMs, 1000);
  assert.equal(log.retentionFor('b').maxAgeMs, DAY);
  assert.ok((log.retentionFor('b').holdCapBytes ?? 0) > 0, 'hold is always bounded by default');
  await log.close();
});

test('concurrent retention runs do not delete more than one run would', () => setup({ maxAgeMs: undefined, maxBytes: 6000 }, async ({ log, shard }) => {
  const reports = await Promise.all([log.enforceRetention(), log.enforceRetention(), log.enforceRetention()]);
  const info = await log.shardInfo('s', shard);
  assert.ok(info.bytes > 6000 - 2048 - 200, `kept ${info.bytes} bytes`);
  assert.equal(reports.map((r) => r[0]!.deletedRecords).reduce((a, b) => a + b, 0) + info.records, 200);
  assert.equal((await readAll(log, 's', shard)).length, info.records);
}));

test('a closed shard can be trimmed to nothing and keeps its last sequence across reopen', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'hydrant-retention-'));
  let log = new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0, segmentBytes: 2048 });
  try {
    const d = await log.ensureStream('c', { shards: 1 });
    const parent = d.shards[0]!.shardId;
    for (let b = 0; b < 5; b++) await log.append('c', Array.from({ length: 10 }, () => ({ partitionKey: 'k', data: Buffer.alloc(60, b) })));
    await log.reshard('c', 1);
    await log.append('c', [{ partitionKey: 'k', data: Buffer.from('child') }]);
    await log.enforceRetention(Date.now() + 2 * DAY);
    const info = await log.shardInfo('c', parent);
    assert.deepEqual({ records: info.records, last: info.lastSequence, first: info.firstSequence }, { records: 0, last: '00000000000000000050', first: null });
    assert.equal((await readdir(join(dataDir, 'streams', 'c', parent))).filter((f) => f.endsWith('.seg')).length, 0, 'no segment file left');
    const r = await log.read('c', parent, { type: 'TRIM_HORIZON' });
    assert.deepEqual([r.records.length, r.next], [0, null]);
    await log.close();
    log = new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0, segmentBytes: 2048 });
    assert.equal((await log.shardInfo('c', parent)).lastSequence, '00000000000000000050');
    assert.equal((await log.read('c', parent, { type: 'TRIM_HORIZON' })).next, null);
    const child = (await log.describeStream('c')).shards.find((s) => !s.closed)!.shardId;
    assert.equal((await readAll(log, 'c', child)).length, 1, 'the open child keeps its newest segment');
  } finally {
    await log.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

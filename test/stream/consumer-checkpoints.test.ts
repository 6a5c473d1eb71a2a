/**
 * Consumer checkpoints (MemoryStateStore for the unit part, the embedded state store for the
 * integration part), reset to every kind of position, readable-shard lineage and lag.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Metrics } from '../../src/core/metrics.ts';
import { EmbeddedStateStore } from '../../src/state/embedded/embedded-state-store.ts';
import { MemoryStateStore } from '../../src/state/memory-state-store.ts';
import { ConsumerCheckpoints, checkpointIterator, endedShards, listStreamCheckpoints } from '../../src/stream/consumer-checkpoints.ts';
import { consumerLag, recordLagMetrics } from '../../src/stream/consumer-lag.ts';
import { EmbeddedStreamLog } from '../../src/stream/embedded/embedded-stream-log.ts';
import { readableShards } from '../../src/stream/readable-shards.ts';
import type { StreamDescription } from '../../src/stream/stream-log.ts';

async function withLog(fn: (log: EmbeddedStreamLog, dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'hydrant-consumers-'));
  const log = new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0 });
  try {
    await fn(log, dataDir);
  } finally {
    await log.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

test('checkpoints are stored under consumers/<stream>/<consumer>/<shard> as the last sequence', async () => {
  const state = new MemoryStateStore();
  const c = new ConsumerCheckpoints(state, 'orders', 'lake');
  assert.equal(await c.get('shardId-000000000000'), undefined);
  assert.deepEqual(checkpointIterator(undefined), { type: 'TRIM_HORIZON' });
  await c.commit('shardId-000000000000', '00000000000000000007');
  assert.equal(await state.get('consumers/orders/lake/shardId-000000000000'), '00000000000000000007');
  assert.deepEqual(checkpointIterator(await c.get('shardId-000000000000')), { type: 'AFTER_SEQUENCE_NUMBER', sequence: '00000000000000000007' });
  await new ConsumerCheckpoints(state, 'orders', 'other').register({ name: 'orders', createdAt: 0, shards: [{ shardId: 'a', hashKeyRange: { start: '0', end: '1' }, parentShardIds: [], closed: false }] });
  const all = await listStreamCheckpoints(state, 'orders');
  assert.deepEqual([...all.keys()].sort(), ['lake', 'other']);
  assert.deepEqual(all.get('other')!.get('a'), { after: null });
  await c.delete();
  assert.equal((await listStreamCheckpoints(state, 'orders')).has('lake'), false);
  assert.throws(() => new ConsumerCheckpoints(state, 'orders', 'bad/name'), /consumer name/);
});

test('reset to TRIM_HORIZON, LATEST, AT/AFTER sequence and AT_TIMESTAMP (embedded state store)', () => withLog(async (log, dataDir) => {
  const state = await EmbeddedStateStore.open({ dataDir });
  try {
    const d = await log.ensureStream('s', { shards: 1 });
    const shard = d.shards[0]!.shardId;
    const a = await log.append('s', Array.from({ length: 5 }, (_, i) => ({ partitionKey: 'k', data: Buffer.from(`a${i}`) })));
    const t0 = Date.now();
    while (Date.now() <= t0 + 2) await new Promise((r) => setTimeout(r, 1));
    const b = await log.append('s', Array.from({ length: 5 }, (_, i) => ({ partitionKey: 'k', data: Buffer.from(`b${i}`) })));
    const c = new ConsumerCheckpoints(state, 's', 'reader');
    const first = async (): Promise<string | undefined> => {
      const r = await log.read('s', shard, checkpointIterator(await c.get(shard)), { maxRecords: 1 });
      return r.records[0] === undefined ? undefined : Buffer.from(r.records[0].data).toString();
    };
    await c.reset(log, { type: 'LATEST' });
    assert.equal(await first(), undefined);
    await c.reset(log, { type: 'TRIM_HORIZON' });
    assert.equal(await first(), 'a0');
    await c.reset(log, { type: 'AT_SEQUENCE_NUMBER', sequence: a[3]!.sequence });
    assert.equal(await first(), 'a3');
    await c.reset(log, { type: 'AFTER_SEQUENCE_NUMBER', sequence: a[3]!.sequence });
    assert.equal(await first(), 'a4');
    const bTime = (await log.read('s', shard, { type: 'AT_SEQUENCE_NUMBER', sequence: b[0]!.sequence }, { maxRecords: 1 })).records[0]!.arrivalTime;
    await c.reset(log, { type: 'AT_TIMESTAMP', timestamp: bTime });
    assert.equal(await first(), 'b0');
    await c.reset(log, { type: 'AT_TIMESTAMP', timestamp: bTime + 3_600_000 });
    assert.equal(await first(), undefined);
    await state.close();
    const reopened = await EmbeddedStateStore.open({ dataDir });
    assert.equal((await new ConsumerCheckpoints(reopened, 's', 'reader').get(shard))!.after, b[4]!.sequence, 'checkpoint survives reopen');
    await reopened.close();
  } finally {
    await state.close().catch(() => {});
  }
}));

test('readableShards: children wait until every described parent is ended', () => {
  const d: StreamDescription = {
    name: 's', createdAt: 0,
    shards: [
      { shardId: 'p0', hashKeyRange: { start: '0', end: '9' }, parentShardIds: [], closed: true },
      { shardId: 'p1', hashKeyRange: { start: '10', end: '19' }, parentShardIds: [], closed: true },
      { shardId: 'c0', hashKeyRange: { start: '0', end: '19' }, parentShardIds: ['p0', 'p1'], closed: false },
      { shardId: 'c1', hashKeyRange: { start: '20', end: '29' }, parentShardIds: ['gone'], closed: false },
    ],
  };
  assert.deepEqual(readableShards(d, new Set()), ['p0', 'p1', 'c1']);
  assert.deepEqual(readableShards(d, new Set(['p0'])), ['p1', 'c1']);
  assert.deepEqual(readableShards(d, new Set(['p0', 'p1'])), ['c0', 'c1']);
});

test('endedShards, lag in records and IteratorAge, and lag metrics', () => withLog(async (log) => {
  const state = new MemoryStateStore();
  await log.ensureStream('s', { shards: 1 });
  const r = await log.append('s', Array.from({ length: 10 }, (_, i) => ({ partitionKey: 'k', data: Buffer.from(`${i}`) })));
  const c = new ConsumerCheckpoints(state, 's', 'lake');
  await c.register(await log.describeStream('s'));
  const now = Date.now() + 5000;
  let lag = await consumerLag(log, state, 's', 'lake', now);
  assert.equal(lag[0]!.records, 10);
  assert.ok(lag[0]!.millis >= 5000);
  await c.commit(r[0]!.shardId, r[6]!.sequence);
  lag = await consumerLag(log, state, 's', 'lake', now);
  assert.equal(lag[0]!.records, 3);
  await c.commit(r[0]!.shardId, r[9]!.sequence);
  lag = await consumerLag(log, state, 's', 'lake', now);
  assert.deepEqual(lag, [{ shardId: r[0]!.shardId, records: 0, millis: 0 }]);
  const m = new Metrics();
  recordLagMetrics(m, 's', 'lake', [{ shardId: 'x', records: 4, millis: 1200 }]);
  assert.equal(m.get('hydrant_stream_consumer_lag_records', { stream: 's', consumer: 'lake', shard: 'x' }), 4);
  assert.equal(m.get('hydrant_stream_consumer_lag_ms', { stream: 's', consumer: 'lake', shard: 'x' }), 1200);
  // After a reshard the parent is ended for a consumer that read it to the end.
  const d = await log.reshard('s', 2);
  const ended = await endedShards(log, 's', d, await c.all());
  assert.deepEqual([...ended], [r[0]!.shardId]);
  assert.deepEqual(readableShards(d, ended), d.shards.filter((s) => !s.closed).map((s) => s.shardId));
  assert.deepEqual([...(await endedShards(log, 's', d, new Map()))], [], 'a consumer that read nothing has not ended the parent');
}));

test('the embedded log publishes lag metrics for every named consumer', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'hydrant-consumers-'));
  const state = new MemoryStateStore();
  const metrics = new Metrics();
  const log = new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0, state, metrics });
  try {
    await log.ensureStream('m', { shards: 1 });
    const r = await log.append('m', Array.from({ length: 8 }, () => ({ partitionKey: 'k', data: Buffer.from('x') })));
    await new ConsumerCheckpoints(state, 'm', 'lake').commit(r[0]!.shardId, r[2]!.sequence);
    await log.publishLag(Date.now() + 1000);
    const labels = { stream: 'm', consumer: 'lake', shard: r[0]!.shardId };
    assert.equal(metrics.get('hydrant_stream_consumer_lag_records', labels), 5);
    assert.ok(metrics.get('hydrant_stream_consumer_lag_ms', labels) >= 1000);
  } finally {
    await log.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

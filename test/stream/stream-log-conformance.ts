/**
 * One conformance suite for every {@link StreamLog} backend (embedded now; JetStream and
 * Kinesis later): stream lifecycle, routing, ordering, every iterator type, read bounds,
 * durability and consumer checkpoints across close/reopen, concurrent appenders, waitForRecords and (when the backend
 * can reshard) closed-shard reads. Backend-neutral: it only uses the StreamLog interface and
 * compares sequences with `compareSequence`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NotFoundError } from '../../src/core/errors.ts';
import { MemoryStateStore } from '../../src/state/memory-state-store.ts';
import { ConsumerCheckpoints, checkpointIterator } from '../../src/stream/consumer-checkpoints.ts';
import { MAX_HASH_KEY } from '../../src/stream/hash-key.ts';
import { compareSequence } from '../../src/stream/sequence.ts';
import type { PutResult, ShardIterator, StreamLog, StreamRecord } from '../../src/stream/stream-log.ts';

/** A backend under test. `reopen` closes the current log and opens it again on the same data. */
export interface StreamLogHarness {
  readonly log: StreamLog;
  reopen(): Promise<StreamLog>;
  cleanup(): Promise<void>;
}

const enc = (s: string): Uint8Array => Buffer.from(s);
const dec = (b: Uint8Array): string => Buffer.from(b).toString();

/** Reads a whole shard from `from` in pages of `page` records. */
export async function readAll(log: StreamLog, stream: string, shardId: string, from: ShardIterator = { type: 'TRIM_HORIZON' }, page = 1000): Promise<StreamRecord[]> {
  const out: StreamRecord[] = [];
  let it: ShardIterator | null = from;
  for (;;) {
    const r = await log.read(stream, shardId, it, { maxRecords: page });
    out.push(...r.records);
    if (r.next === null || r.records.length === 0) return out;
    it = r.next;
  }
}

/** Every record of every shard of `stream`, shard by shard. */
export async function readStream(log: StreamLog, stream: string): Promise<StreamRecord[]> {
  const out: StreamRecord[] = [];
  for (const s of (await log.describeStream(stream)).shards) out.push(...(await readAll(log, stream, s.shardId)));
  return out;
}

function assertIncreasing(records: readonly StreamRecord[]): void {
  for (let i = 1; i < records.length; i++) assert.ok(compareSequence((records[i - 1] as StreamRecord).sequence, (records[i] as StreamRecord).sequence) < 0, `sequence ${records[i]?.sequence} must follow ${records[i - 1]?.sequence}`);
}

/** Registers the suite's tests under `name`; `factory` gives a fresh, empty backend per test. */
export function runStreamLogConformance(name: string, factory: () => Promise<StreamLogHarness>): void {
  const withLog = (title: string, fn: (h: StreamLogHarness) => Promise<void>): void => {
    test(`${name} conformance: ${title}`, async () => {
      const h = await factory();
      try {
        await fn(h);
      } finally {
        await h.cleanup();
      }
    });
  };

  withLog('ensureStream lays shards over the whole hash-key space and is idempotent', async ({ log }) => {
    const d = await log.ensureStream('orders', { shards: 4 });
    assert.equal(d.name, 'orders');
    assert.equal(d.shards.length, 4);
    let expect = 0n;
    for (const s of d.shards) {
      assert.equal(BigInt(s.hashKeyRange.start), expect);
      expect = BigInt(s.hashKeyRange.end) + 1n;
      assert.equal(s.closed, false);
      assert.deepEqual(s.parentShardIds, []);
    }
    assert.equal(expect, MAX_HASH_KEY + 1n);
    assert.deepEqual((await log.ensureStream('orders', { shards: 9 })).shards.map((s) => s.shardId), d.shards.map((s) => s.shardId));
    await log.ensureStream('events', { shards: 1 });
    assert.deepEqual((await log.listStreams()).sort(), ['events', 'orders']);
    await log.deleteStream('events');
    assert.deepEqual(await log.listStreams(), ['orders']);
    await assert.rejects(log.describeStream('events'), NotFoundError);
    await assert.rejects(log.read('orders', 'no-such-shard', { type: 'TRIM_HORIZON' }), NotFoundError);
  });

  withLog('appends keep per-shard order, route each key to one shard, and read back exactly', async ({ log }) => {
    await log.ensureStream('s', { shards: 3 });
    const sent: Array<{ key: string; body: string }> = [];
    const results: PutResult[] = [];
    for (let b = 0; b < 5; b++) {
      const batch = Array.from({ length: 40 }, (_, i) => ({ key: `k${(b * 40 + i) % 17}`, body: `rec-${b}-${i}` }));
      sent.push(...batch);
      results.push(...(await log.append('s', batch.map((r) => ({ partitionKey: r.key, data: enc(r.body) })))));
    }
    assert.equal(results.length, sent.length);
    const shardOfKey = new Map<string, string>();
    sent.forEach((r, i) => {
      const got = results[i]!.shardId;
      assert.equal(shardOfKey.get(r.key) ?? got, got, `key ${r.key} must always land in one shard`);
      shardOfKey.set(r.key, got);
    });
    const all = await readStream(log, 's');
    assert.equal(all.length, sent.length);
    const d = await log.describeStream('s');
    for (const s of d.shards) {
      const recs = all.filter((r) => r.shardId === s.shardId);
      assertIncreasing(recs);
      const expected = sent.filter((_, i) => results[i]!.shardId === s.shardId);
      assert.deepEqual(recs.map((r) => [r.partitionKey, dec(r.data)]), expected.map((r) => [r.key, r.body]));
      assert.deepEqual(recs.map((r) => r.sequence), results.filter((x) => x.shardId === s.shardId).map((x) => x.sequence));
    }
    assert.ok(all.every((r) => typeof r.arrivalTime === 'number' && r.arrivalTime > 0));
    assert.ok(log.stats().recordsAppended >= sent.length);
  });

  withLog('explicitHashKey overrides the partition key hash', async ({ log }) => {
    const d = await log.ensureStream('x', { shards: 4 });
    for (const s of d.shards) {
      const [r] = await log.append('x', [{ partitionKey: 'same-key', data: enc('v'), explicitHashKey: s.hashKeyRange.end }]);
      assert.equal(r!.shardId, s.shardId);
    }
  });

  withLog('iterators: TRIM_HORIZON, AT/AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP', async ({ log }) => {
    const d = await log.ensureStream('it', { shards: 1 });
    const shard = d.shards[0]!.shardId;
    const empty = await log.read('it', shard, { type: 'LATEST' });
    assert.equal(empty.records.length, 0);
    const first = await log.append('it', Array.from({ length: 10 }, (_, i) => ({ partitionKey: 'k', data: enc(`a${i}`) })));
    const latest = await log.read('it', shard, { type: 'LATEST' });
    assert.equal(latest.records.length, 0);
    assert.notEqual(latest.next, null);
    // an iterator taken before appends sees them; one taken with LATEST after sees only newer
    assert.deepEqual((await readAll(log, 'it', shard, empty.next!)).map((r) => dec(r.data)).slice(0, 10), Array.from({ length: 10 }, (_, i) => `a${i}`));
    const t0 = Date.now();
    while (Date.now() <= t0 + 2) await new Promise((r) => setTimeout(r, 1)); // a later millisecond for the second batch
    await log.append('it', Array.from({ length: 10 }, (_, i) => ({ partitionKey: 'k', data: enc(`b${i}`) })));
    assert.deepEqual((await readAll(log, 'it', shard, latest.next!)).map((r) => dec(r.data)), Array.from({ length: 10 }, (_, i) => `b${i}`));
    const all = await readAll(log, 'it', shard);
    assert.equal(all.length, 20);
    const at = await log.read('it', shard, { type: 'AT_SEQUENCE_NUMBER', sequence: first[4]!.sequence }, { maxRecords: 3 });
    assert.deepEqual(at.records.map((r) => dec(r.data)), ['a4', 'a5', 'a6']);
    const after = await log.read('it', shard, { type: 'AFTER_SEQUENCE_NUMBER', sequence: first[4]!.sequence }, { maxRecords: 3 });
    assert.deepEqual(after.records.map((r) => dec(r.data)), ['a5', 'a6', 'a7']);
    for (const probe of [all[0]!.arrivalTime, all[10]!.arrivalTime, all[19]!.arrivalTime, all[0]!.arrivalTime - 1000]) {
      const got = await readAll(log, 'it', shard, { type: 'AT_TIMESTAMP', timestamp: probe });
      assert.deepEqual(got.map((r) => r.sequence), all.filter((r) => r.arrivalTime >= probe).map((r) => r.sequence), `AT_TIMESTAMP ${probe}`);
    }
    assert.equal((await log.read('it', shard, { type: 'AT_TIMESTAMP', timestamp: all[19]!.arrivalTime + 60_000 })).records.length, 0);
  });

  withLog('reads are bounded by maxRecords and maxBytes and page through everything once', async ({ log }) => {
    const d = await log.ensureStream('b', { shards: 1 });
    const shard = d.shards[0]!.shardId;
    await log.append('b', Array.from({ length: 100 }, (_, i) => ({ partitionKey: 'k', data: Buffer.alloc(100, i) })));
    assert.equal((await log.read('b', shard, { type: 'TRIM_HORIZON' }, { maxRecords: 7 })).records.length, 7);
    const r = await log.read('b', shard, { type: 'TRIM_HORIZON' }, { maxBytes: 450 });
    assert.ok(r.records.length >= 1 && r.records.length <= 5, `maxBytes 450 with 100-byte records gave ${r.records.length}`);
    assert.equal((await log.read('b', shard, { type: 'TRIM_HORIZON' }, { maxBytes: 1 })).records.length, 1, 'at least one record');
    const seen: number[] = [];
    let it: ShardIterator | null = { type: 'TRIM_HORIZON' };
    for (let i = 0; i < 200 && it !== null; i++) {
      const page = await log.read('b', shard, it, { maxRecords: 9, maxBytes: 350 });
      if (page.records.length === 0) break;
      seen.push(...page.records.map((x) => x.data[0]!));
      it = page.next;
    }
    assert.deepEqual(seen, Array.from({ length: 100 }, (_, i) => i));
  });

  withLog('records and positions survive close and reopen; appends continue after them', async (h) => {
    let log = h.log;
    await log.ensureStream('p', { shards: 2 });
    const first = await log.append('p', Array.from({ length: 50 }, (_, i) => ({ partitionKey: `k${i}`, data: enc(`v${i}`) })));
    const shard = first[0]!.shardId;
    const page = await log.read('p', shard, { type: 'TRIM_HORIZON' }, { maxRecords: 5 });
    const resume = page.next!;
    log = await h.reopen();
    const rest = await readAll(log, 'p', shard, resume);
    const everything = await readAll(log, 'p', shard);
    assert.deepEqual([...page.records, ...rest].map((r) => r.sequence), everything.map((r) => r.sequence));
    const more = await log.append('p', [{ partitionKey: first[0] === undefined ? 'k0' : 'k0', data: enc('after-reopen') }]);
    const last = everything.at(-1)!;
    if (more[0]!.shardId === last.shardId) assert.ok(compareSequence(more[0]!.sequence, last.sequence) > 0);
    assert.equal((await readStream(log, 'p')).length, 51);
  });

  withLog('a named consumer resumes from its checkpoint after the log is closed and reopened', async (h) => {
    let log = h.log;
    const state = new MemoryStateStore();
    await log.ensureStream('cp', { shards: 2 });
    await log.append('cp', Array.from({ length: 60 }, (_, i) => ({ partitionKey: `k${i % 9}`, data: enc(`v${i}`) })));
    const consumer = new ConsumerCheckpoints(state, 'cp', 'lake');
    const d = await log.describeStream('cp');
    await consumer.register(d);
    const seen: string[] = [];
    for (const s of d.shards) {
      const page = await log.read('cp', s.shardId, checkpointIterator(await consumer.get(s.shardId)), { maxRecords: 7 });
      seen.push(...page.records.map((r) => dec(r.data)));
      if (page.records.length > 0) await consumer.commit(s.shardId, page.records.at(-1)!.sequence);
    }
    log = await h.reopen();
    for (const s of d.shards) seen.push(...(await readAll(log, 'cp', s.shardId, checkpointIterator(await consumer.get(s.shardId)))).map((r) => dec(r.data)));
    assert.equal(seen.length, 60, 'nothing read twice or skipped');
    assert.deepEqual([...seen].sort(), Array.from({ length: 60 }, (_, i) => `v${i}`).sort());
  });

  withLog('concurrent appenders: nothing lost or duplicated, each producer keeps its order', async ({ log }) => {
    await log.ensureStream('c', { shards: 2 });
    const producers = 16;
    const batches = 8;
    await Promise.all(Array.from({ length: producers }, async (_, p) => {
      for (let b = 0; b < batches; b++) await log.append('c', Array.from({ length: 25 }, (_, i) => ({ partitionKey: `producer-${p}`, data: enc(`${p}:${b * 25 + i}`) })));
    }));
    const all = await readStream(log, 'c');
    assert.equal(all.length, producers * batches * 25);
    for (let p = 0; p < producers; p++) {
      const mine = all.filter((r) => r.partitionKey === `producer-${p}`).map((r) => Number(dec(r.data).split(':')[1]));
      assert.deepEqual(mine, Array.from({ length: batches * 25 }, (_, i) => i), `producer ${p} order`);
    }
  });

  withLog('waitForRecords wakes on append, times out, honours abort', async ({ log }) => {
    const d = await log.ensureStream('w', { shards: 1 });
    const shard = d.shards[0]!.shardId;
    assert.equal(await log.waitForRecords('w', shard, null, 20), false);
    const waiting = log.waitForRecords('w', shard, null, 60_000);
    const [r] = await log.append('w', [{ partitionKey: 'k', data: enc('1') }]);
    assert.equal(await waiting, true);
    assert.equal(await log.waitForRecords('w', shard, null, 0), true, 'a record exists already');
    const ac = new AbortController();
    const aborted = log.waitForRecords('w', shard, r!.sequence, 60_000, ac.signal);
    ac.abort();
    assert.equal(await aborted, false);
    const next = log.waitForRecords('w', shard, r!.sequence, 60_000);
    await log.append('w', [{ partitionKey: 'k', data: enc('2') }]);
    assert.equal(await next, true);
  });

  withLog('after reshard: closed parents end with next=null, children take new appends', async ({ log }) => {
    if (log.reshard === undefined) return;
    await log.ensureStream('r', { shards: 2 });
    await log.append('r', Array.from({ length: 20 }, (_, i) => ({ partitionKey: `k${i}`, data: enc(`old${i}`) })));
    const d = await log.reshard('r', 3);
    const closed = d.shards.filter((s) => s.closed);
    const open = d.shards.filter((s) => !s.closed);
    assert.equal(closed.length, 2);
    assert.equal(open.length, 3);
    for (const c of open) assert.ok(c.parentShardIds.length >= 1 && c.parentShardIds.every((p) => closed.some((x) => x.shardId === p)));
    for (const c of closed) {
      const r = await log.read('r', c.shardId, { type: 'TRIM_HORIZON' });
      assert.equal(r.next, null, 'a closed shard read to its end has no next iterator');
    }
    const res = await log.append('r', Array.from({ length: 20 }, (_, i) => ({ partitionKey: `k${i}`, data: enc(`new${i}`) })));
    assert.ok(res.every((x) => open.some((s) => s.shardId === x.shardId)));
    assert.equal((await readStream(log, 'r')).length, 40);
  });
}

/**
 * Split, merge and reshard while writers append and a reader follows the lineage: every key's
 * records must arrive exactly once and in order (the reader drains parents before children).
 * Also: lineage survives reopen, invalid requests are clear errors.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MemoryStateStore } from '../../../src/state/memory-state-store.ts';
import { ConsumerCheckpoints, checkpointIterator, endedShards } from '../../../src/stream/consumer-checkpoints.ts';
import { EmbeddedStreamLog } from '../../../src/stream/embedded/embedded-stream-log.ts';
import { ReshardError } from '../../../src/stream/reshard-plan.ts';
import { readableShards } from '../../../src/stream/readable-shards.ts';

const seed = Number(process.env['HYDRANT_TEST_SEED'] ?? Date.now() % 100_000);

test(`reshard under concurrent writes and reads keeps per-key order (seed ${seed})`, async () => {
  console.log(`reshard test seed ${seed}`);
  let s = seed >>> 0;
  const rand = (): number => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const dataDir = await mkdtemp(join(tmpdir(), 'hydrant-reshard-'));
  const log = new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0, segmentBytes: 4096 });
  const state = new MemoryStateStore();
  try {
    await log.ensureStream('r', { shards: 2 });
    const writers = 4;
    const keysPerWriter = 25;
    const sent = new Map<string, number>();
    let writing = true;
    const writer = async (w: number): Promise<void> => {
      while (writing) {
        const batch = Array.from({ length: 1 + Math.floor(rand() * 20) }, () => {
          const key = `w${w}-k${Math.floor(rand() * keysPerWriter)}`;
          const n = sent.get(key) ?? 0;
          sent.set(key, n + 1);
          return { partitionKey: key, data: Buffer.from(`${key}|${n}`) };
        });
        await log.append('r', batch);
      }
    };
    const seen = new Map<string, number>();
    const cp = new ConsumerCheckpoints(state, 'r', 'reader');
    let reads = 0;
    const readOnce = async (): Promise<number> => {
      const desc = await log.describeStream('r');
      const cps = await cp.all();
      let got = 0;
      // Random order and small pages, so only the lineage rule (not luck) keeps keys in order.
      const shards = readableShards(desc, await endedShards(log, 'r', desc, cps)).sort(() => rand() - 0.5);
      for (const shardId of shards) {
        const res = await log.read('r', shardId, checkpointIterator(cps.get(shardId)), { maxRecords: 1 + Math.floor(rand() * 10) });
        for (const rec of res.records) {
          const [key, n] = Buffer.from(rec.data).toString().split('|');
          const expect = seen.get(key!) ?? 0;
          assert.equal(Number(n), expect, `key ${key}: record ${n} arrived when ${expect} was due (seed ${seed})`);
          seen.set(key!, expect + 1);
        }
        if (res.records.length > 0) await cp.commit(shardId, res.records.at(-1)!.sequence);
        got += res.records.length;
      }
      reads++;
      return got;
    };
    const writersDone = Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
    let reading = true;
    const reader = (async () => {
      // A reader slower than the writers, so parents still hold unread records at each reshard.
      while (reading) {
        await readOnce();
        await new Promise((r) => setTimeout(r, 1 + Math.floor(rand() * 4)));
      }
    })();
    const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 10 + Math.floor(rand() * 20)));
    await pause();
    await log.reshard('r', 3);
    await pause();
    const open3 = (await log.describeStream('r')).shards.filter((x) => !x.closed);
    await log.splitShard('r', open3[0]!.shardId, ((BigInt(open3[0]!.hashKeyRange.start) + BigInt(open3[0]!.hashKeyRange.end)) / 2n).toString());
    await pause();
    const open4 = (await log.describeStream('r')).shards.filter((x) => !x.closed).sort((a, b) => (BigInt(a.hashKeyRange.start) < BigInt(b.hashKeyRange.start) ? -1 : 1));
    await log.mergeShards('r', open4[1]!.shardId, open4[2]!.shardId);
    await pause();
    await log.reshard('r', 1);
    await pause();
    writing = false;
    await writersDone;
    reading = false;
    await reader;
    while ((await readOnce()) > 0);
    assert.deepEqual(Object.fromEntries([...seen].sort()), Object.fromEntries([...sent].sort()), 'every record of every key read exactly once');
    assert.ok([...sent.values()].reduce((a, b) => a + b, 0) > 100, 'writers wrote during the reshards');
    const d = await log.describeStream('r');
    assert.equal(d.shards.filter((x) => !x.closed).length, 1);
    assert.ok(d.shards.length >= 2 + 3 + 2 + 1 + 1);
    assert.ok(reads > 1);
  } finally {
    await log.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('lineage survives reopen; invalid split and merge requests are clear errors', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'hydrant-reshard-'));
  let log = new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0 });
  try {
    const d = await log.ensureStream('l', { shards: 3 });
    await log.append('l', [{ partitionKey: 'a', data: Buffer.from('1') }]);
    const after = await log.mergeShards('l', d.shards[0]!.shardId, d.shards[1]!.shardId);
    await assert.rejects(log.mergeShards('l', d.shards[0]!.shardId, d.shards[2]!.shardId), ReshardError);
    const child = after.shards.find((s) => s.parentShardIds.length === 2)!;
    await assert.rejects(log.mergeShards('l', child.shardId, child.shardId), ReshardError);
    await assert.rejects(log.splitShard('l', child.shardId, child.hashKeyRange.start), /inside shard/);
    await assert.rejects(log.splitShard('l', 'shardId-999', '5'), /no shard/);
    await log.close();
    log = new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0 });
    assert.deepEqual(await log.describeStream('l'), after);
    await log.append('l', [{ partitionKey: 'a', data: Buffer.from('2') }]);
    await assert.rejects(log.append('l', [{ partitionKey: 'a', data: Buffer.from('x') }]).then(async () => log.reshard('l', 0)), ReshardError);
  } finally {
    await log.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

/**
 * Model-based test (fast-check, seeded): random sequences of appends, bounded reads from
 * random positions, reopens and reshards against an in-memory model of what each shard must
 * hold. Tiny segments and index intervals make rolls and index seeks happen constantly.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { EmbeddedStreamLog } from '../../../src/stream/embedded/embedded-stream-log.ts';
import type { ShardIterator } from '../../../src/stream/stream-log.ts';

type Op =
  | { kind: 'append'; keys: number[]; size: number }
  | { kind: 'read'; shard: number; from: 'trim' | 'at' | 'after' | 'time'; pick: number; maxRecords: number; maxBytes: number }
  | { kind: 'reopen' }
  | { kind: 'reshard'; count: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('append' as const), keys: fc.array(fc.nat(30), { minLength: 1, maxLength: 40 }), size: fc.integer({ min: 0, max: 300 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('read' as const), shard: fc.nat(), from: fc.constantFrom('trim' as const, 'at' as const, 'after' as const, 'time' as const), pick: fc.nat(), maxRecords: fc.integer({ min: 1, max: 50 }), maxBytes: fc.integer({ min: 1, max: 5000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reshard' as const), count: fc.integer({ min: 1, max: 4 }) }) },
);

interface ModelRecord {
  readonly key: string;
  readonly body: string;
  readonly sequence: string;
}

test('embedded log agrees with an in-memory model (seeded fast-check)', async () => {
  const seed = Number(process.env['HYDRANT_TEST_SEED'] ?? 20261121);
  console.log(`model test seed ${seed}`);
  await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 40 }), async (ops) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'hydrant-log-model-'));
    const open = (): EmbeddedStreamLog => new EmbeddedStreamLog({ dataDir, retentionIntervalMs: 0, segmentBytes: 1500, indexIntervalBytes: 200, blockBytes: 400 });
    let log = open();
    const model = new Map<string, ModelRecord[]>();
    let counter = 0;
    try {
      await log.ensureStream('m', { shards: 2 });
      for (const o of ops) {
        if (o.kind === 'append') {
          const batch = o.keys.map((k) => ({ partitionKey: `key-${k}`, data: Buffer.from(`${counter++}:${'z'.repeat(o.size)}`) }));
          const res = await log.append('m', batch);
          for (let i = 0; i < res.length; i++) {
            const list = model.get(res[i]!.shardId) ?? [];
            list.push({ key: batch[i]!.partitionKey, body: Buffer.from(batch[i]!.data).toString(), sequence: res[i]!.sequence });
            model.set(res[i]!.shardId, list);
          }
        } else if (o.kind === 'reopen') {
          await log.close();
          log = open();
        } else if (o.kind === 'reshard') {
          await log.reshard('m', o.count);
        } else {
          const shards = (await log.describeStream('m')).shards;
          const shard = shards[o.shard % shards.length]!.shardId;
          const expected = model.get(shard) ?? [];
          const target = expected[o.pick % Math.max(1, expected.length)];
          let it: ShardIterator =
            o.from === 'trim' || o.from === 'time' || target === undefined ? { type: 'TRIM_HORIZON' }
            : o.from === 'at' ? { type: 'AT_SEQUENCE_NUMBER', sequence: target.sequence }
            : { type: 'AFTER_SEQUENCE_NUMBER', sequence: target.sequence };
          let start = o.from === 'trim' || o.from === 'time' || target === undefined ? 0 : expected.indexOf(target) + (o.from === 'after' ? 1 : 0);
          if (o.from === 'time' && target !== undefined) {
            const all = (await log.read('m', shard, { type: 'TRIM_HORIZON' }, { maxRecords: 100_000, maxBytes: 1 << 30 })).records;
            const ts = all[o.pick % all.length]!.arrivalTime;
            it = { type: 'AT_TIMESTAMP', timestamp: ts };
            start = all.findIndex((r) => r.arrivalTime >= ts);
          }
          const r = await log.read('m', shard, it, { maxRecords: o.maxRecords, maxBytes: o.maxBytes });
          const want = expected.slice(start, start + o.maxRecords);
          assert.ok(r.records.length >= Math.min(1, want.length) && r.records.length <= want.length);
          let bytes = 0;
          r.records.forEach((rec, i) => {
            assert.equal(rec.sequence, want[i]!.sequence);
            assert.equal(rec.partitionKey, want[i]!.key);
            assert.equal(Buffer.from(rec.data).toString(), want[i]!.body);
            if (i > 0) assert.ok(bytes < o.maxBytes, 'maxBytes respected (one record may cross it)');
            bytes += rec.data.length;
          });
          if (r.records.length < want.length) assert.ok(bytes >= o.maxBytes || r.records.length === o.maxRecords, 'a short page only because a limit was reached');
        }
      }
    } finally {
      await log.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  }), { seed, numRuns: 25 });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../src/core/logger.ts';
import { EmbeddedStreamLog, InvalidRecordError } from '../../../src/stream/embedded/embedded-stream-log.ts';
import type { PackedRecords, StreamLog } from '../../../src/stream/stream-log.ts';
import { readAll } from '../stream-log-conformance.ts';

/** Per shard, its records as (key, data, sequence). */
async function byShard(log: StreamLog, stream: string): Promise<Map<string, Array<{ key: string; data: string; sequence: string }>>> {
  const out = new Map<string, Array<{ key: string; data: string; sequence: string }>>();
  for (const s of (await log.describeStream(stream)).shards) {
    out.set(s.shardId, (await readAll(log, stream, s.shardId, { type: 'TRIM_HORIZON' }, 500)).map((x) => ({ key: x.partitionKey, data: Buffer.from(x.data).toString('utf8'), sequence: x.sequence })));
  }
  return out;
}

function pack(records: Array<{ key: string; data: string }>): PackedRecords {
  const bufs = records.map((r) => Buffer.from(r.data, 'utf8'));
  const ends: number[] = [];
  let o = 0;
  for (const b of bufs) ends.push((o += b.length));
  return { count: records.length, bytes: Buffer.concat(bufs), ends, partitionKeys: records.map((r) => r.key) };
}

for (const shards of [1, 3]) {
  test(`appendPacked stores exactly what append stores (${shards} shard${shards > 1 ? 's' : ''}) and reports per-shard sequences`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hydrant-packed-'));
    const a = new EmbeddedStreamLog({ dataDir: join(dir, 'a'), logger: silentLogger, retentionIntervalMs: 0, blockBytes: 4096 });
    const b = new EmbeddedStreamLog({ dataDir: join(dir, 'b'), logger: silentLogger, retentionIntervalMs: 0, blockBytes: 4096 });
    try {
      await a.ensureStream('s', { shards });
      await b.ensureStream('s', { shards });
      for (let batch = 0; batch < 5; batch++) {
        const recs = Array.from({ length: 300 }, (_, i) => ({ key: `k-${(batch * 300 + i) % 97}-é`, data: `{"n":${batch * 300 + i},"pad":"${'x'.repeat(i % 50)}"}` }));
        await a.append('s', recs.map((r) => ({ partitionKey: r.key, data: Buffer.from(r.data, 'utf8') })));
        const res = await b.appendPacked('s', pack(recs));
        assert.equal(res.shards.reduce((n, s) => n + s.count, 0), 300);
        for (const s of res.shards) assert.equal(BigInt(s.lastSequence) - BigInt(s.firstSequence) + 1n, BigInt(s.count));
      }
      assert.deepEqual(await byShard(b, 's'), await byShard(a, 's'));
      assert.deepEqual(await b.appendPacked('s', pack([])), { shards: [] });
      await assert.rejects(b.appendPacked('s', pack([{ key: 'ok', data: 'x' }, { key: '', data: 'y' }])), InvalidRecordError);
    } finally {
      await a.close();
      await b.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}

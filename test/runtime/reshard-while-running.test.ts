import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, silentLogger } from '../../src/core/logger.ts';
import { runtimeSpecFromPlain } from '../../src/runtime/build.ts';
import { PipelineRunner } from '../../src/runtime/pipeline-runner.ts';
import type { EmbeddedStreamLog } from '../../src/stream/embedded/embedded-stream-log.ts';

const SEED = 8080;
const COUNT = 6000;
console.log(`reshard while running test seed=${SEED}`);

test('a reshard while the pipeline runs: children are read after their parents, every record once, per-key order kept', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-reshard-'));
  try {
    const spec = runtimeSpecFromPlain({
      name: 'reshard-test',
      streams: { changes: { shards: 2 } },
      sources: { shop: { type: 'generator', stream: 'changes', seed: SEED, count: COUNT, rate: 6000, batch_size: 100 } },
      deliveries: { out: { type: 'file', stream: 'changes', max_records: 250, max_age: '30ms' } },
    }, dir);
    const runner = await PipelineRunner.open(spec, { untilCaughtUp: true, logger: process.env['DBG'] ? createLogger({ level: 'debug' }) : silentLogger });
    const done = runner.run();
    while (runner.metrics.get('hydrant_source_records_total', { source: 'shop', table: 'orders' }) < 300) await new Promise((r) => setTimeout(r, 20));
    const desc = await (runner.log as EmbeddedStreamLog).reshard('changes', 3);
    assert.ok(desc.shards.some((s) => s.closed) && desc.shards.some((s) => s.parentShardIds.length > 0));
    await done;

    const parentOf = new Map(desc.shards.map((s) => [s.shardId, s.parentShardIds]));
    const root = join(dir, 'files', 'out');
    const byKey = new Map<string, Array<{ shard: string; pos: string }>>();
    let total = 0;
    const positions = new Set<string>();
    for (const shard of await readdir(root)) {
      for (const f of (await readdir(join(root, shard))).sort()) {
        for (const line of (await readFile(join(root, shard, f), 'utf8')).split('\n')) {
          if (line === '') continue;
          const j = JSON.parse(line) as { source: { position: string; table: string }; key: unknown };
          total++;
          positions.add(j.source.position);
          const k = `${j.source.table}:${JSON.stringify(j.key)}`;
          byKey.set(k, [...(byKey.get(k) ?? []), { shard, pos: j.source.position }]);
        }
      }
    }
    assert.equal(total, COUNT, 'no duplicates');
    assert.equal(positions.size, COUNT, 'nothing lost');
    let crossed = 0;
    for (const [k, recs] of byKey) {
      // A key's records in a parent shard all precede its records in that parent's children.
      for (const a of recs) for (const b of recs) {
        if ((parentOf.get(b.shard) ?? []).includes(a.shard)) {
          crossed++;
          assert.ok(a.pos < b.pos, `key ${k}: ${a.pos} in parent ${a.shard} is not before ${b.pos} in child ${b.shard}`);
        }
      }
    }
    assert.ok(crossed > 0, 'some keys have records on both sides of the reshard');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

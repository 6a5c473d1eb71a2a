import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/core/logger.ts';
import { runtimeSpecFromPlain } from '../../src/runtime/build.ts';
import { PipelineRunner } from '../../src/runtime/pipeline-runner.ts';
import { EmbeddedStateStore } from '../../src/state/embedded/embedded-state-store.ts';
import { schemaKey } from '../../src/core/schema.ts';

const SEED = 99;
console.log(`pipeline runner test seed=${SEED}`);
const quiet = createLogger({ level: 'error' });

function plain(count: number, shards = 2) {
  return {
    name: 'runner-test',
    lake: { type: 'fs' as const, path: 'lake' },
    streams: { changes: { shards } },
    sources: { shop: { type: 'generator', stream: 'changes', seed: SEED, count, batch_size: 200 } },
    deliveries: { out: { type: 'file', stream: 'changes', max_records: 300, max_age: 0 } },
  };
}

async function delivered(dir: string): Promise<Array<{ position: string; table: string; key: string }>> {
  const out: Array<{ position: string; table: string; key: string }> = [];
  const root = join(dir, 'files', 'out');
  for (const shard of (await readdir(root)).sort()) {
    for (const f of (await readdir(join(root, shard))).sort()) {
      assert.ok(!f.startsWith('.'), `no temp file left: ${f}`);
      for (const line of (await readFile(join(root, shard, f), 'utf8')).split('\n')) {
        if (line === '') continue;
        const j = JSON.parse(line) as { source: { position: string; table: string }; key: unknown };
        out.push({ position: j.source.position, table: j.source.table, key: JSON.stringify(j.key) });
      }
    }
  }
  return out;
}

test('generator -> embedded log -> file delivery, until caught up; a second run delivers only new events', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-runner-'));
  try {
    const r1 = await PipelineRunner.open(runtimeSpecFromPlain(plain(1500), dir), { untilCaughtUp: true, logger: quiet });
    const s1 = await r1.run();
    assert.equal(s1.reason, 'caught-up');
    assert.equal(s1.positions['shop'], '0000000000001500');
    let got = await delivered(dir);
    assert.equal(got.length, 1500);
    assert.deepEqual(got.map((g) => g.position).sort(), Array.from({ length: 1500 }, (_, i) => String(i + 1).padStart(16, '0')));
    // Per key order: positions of one key increase within its shard's files.
    const lastByKey = new Map<string, string>();
    for (const g of got) {
      const k = `${g.table}:${g.key}`;
      const prev = lastByKey.get(k);
      assert.ok(prev === undefined || prev < g.position, `order of ${k}`);
      lastByKey.set(k, g.position);
    }
    assert.equal(r1.metrics.get('hydrant_source_records_total', { source: 'shop', table: 'customers' }) > 0, true);

    // Same data dir, larger count: resumes after 1500 and delivers exactly the rest.
    const r2 = await PipelineRunner.open(runtimeSpecFromPlain(plain(2000), dir), { untilCaughtUp: true, logger: quiet });
    const s2 = await r2.run();
    assert.equal(s2.positions['shop'], '0000000000002000');
    got = await delivered(dir);
    assert.equal(got.length, 2000);
    assert.equal(new Set(got.map((g) => g.position)).size, 2000);

    const st = await EmbeddedStateStore.open({ dataDir: dir, logger: quiet });
    try {
      assert.equal(await st.get('sources/shop/position'), '0000000000002000');
      assert.notEqual(await st.get(schemaKey({ source: 'shop', schema: 'public', table: 'orders' }, 1)), undefined, 'schemas recorded');
      const cps = await st.list('consumers/changes/out/');
      assert.equal(cps.length, 2);
    } finally {
      await st.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeEnvelope, envelopeToJson } from '../../src/core/change-event.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { FsObjectStore } from '../../src/lake/fs/fs-object-store.ts';
import { runtimeSpecFromPlain } from '../../src/runtime/build.ts';
import { PipelineRunner } from '../../src/runtime/pipeline-runner.ts';
import { Workload } from '../../src/sources/generator/workload.ts';
import { EmbeddedStreamLog } from '../../src/stream/embedded/embedded-stream-log.ts';

const SEED = 555;
const COUNT = 3000;
console.log(`error records test seed=${SEED}`);

async function lines(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const shard of await readdir(root)) for (const f of await readdir(join(root, shard))) out.push(...(await readFile(join(root, shard, f), 'utf8')).split('\n').filter((l) => l !== ''));
  return out;
}

test('undecodable records and records a delivery-edge transform fails go to errors/<delivery>/processing-failed/ (naming the transform) and the pipeline goes on', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-errors-'));
  try {
    // A foreign producer wrote garbage into the stream before the pipeline ran.
    const log = new EmbeddedStreamLog({ dataDir: dir, logger: silentLogger, retentionIntervalMs: 0 });
    await log.ensureStream('changes', { shards: 2 });
    const garbage = Buffer.from('{"this is": not an envelope');
    await log.append('changes', [{ partitionKey: 'junk', data: garbage }]);
    await log.close();

    const spec = runtimeSpecFromPlain({
      name: 'errors-test',
      lake: { type: 'fs', path: 'lake' },
      streams: { changes: { shards: 2 } },
      sources: { shop: { type: 'generator', stream: 'changes', seed: SEED, count: COUNT } },
      transforms: { no_cancelled: { type: 'validate', tables: ['orders'], schema: { properties: { status: { not: { const: 'cancelled' } } } } } },
      deliveries: { out: { type: 'file', stream: 'changes', transforms: ['no_cancelled'], max_age: 0 } },
    }, dir);
    const runner = await PipelineRunner.open(spec, { untilCaughtUp: true, logger: silentLogger });
    assert.equal((await runner.run()).reason, 'caught-up');

    const w = new Workload(SEED, { source: 'shop', database: 'shop', schema: 'public', startMillis: Date.parse('2024-01-01T00:00:00Z') });
    const all = Array.from({ length: COUNT }, () => w.next());
    const bad = all.filter((e) => e.source.table === 'orders' && (e.after ?? e.before)?.['status'] === 'cancelled');
    assert.ok(bad.length > 0, 'the workload has cancelled orders');
    const good = all.filter((e) => !bad.includes(e)).map(envelopeToJson).sort();
    assert.deepEqual((await lines(join(dir, 'files', 'out'))).sort(), good, 'every valid record delivered once');

    const lake = new FsObjectStore(join(dir, 'lake'));
    const stored = await lake.list('errors/');
    assert.ok(stored.every((o) => o.key.startsWith('errors/out/processing-failed/')), `every error object under the delivery's prefix: ${stored.slice(0, 3).map((o) => o.key).join(', ')}`);
    const objects: Array<Record<string, unknown>> = [];
    for (const o of stored) objects.push(JSON.parse(Buffer.from(await lake.get(o.key)).toString()) as Record<string, unknown>);
    const decodeFailures = objects.filter((j) => j['transform'] === undefined);
    assert.equal(decodeFailures.length, 1);
    const df = decodeFailures[0] as Record<string, string>;
    assert.equal(df['component'], 'out');
    assert.equal(Buffer.from(df['rawData']!, 'base64').toString(), garbage.toString());
    assert.match(df['reason']!, /not valid JSON/);
    assert.equal(df['partitionKey'], 'junk');
    assert.ok(df['arrivalTime'] && df['failedAt'] && df['sequence']);

    const failed = objects.filter((j) => j['transform'] !== undefined);
    assert.equal(failed.length, bad.length);
    const positions = new Set<string>();
    for (const j of failed) {
      assert.equal(j['transform'], 'no_cancelled');
      assert.equal(j['component'], 'out');
      assert.match(String(j['reason']), /status/);
      assert.equal(j['attempts'], 1);
      positions.add(decodeEnvelope(Buffer.from(String(j['rawData']), 'base64')).source.position);
    }
    assert.deepEqual([...positions].sort(), bad.map((e) => e.source.position).sort());
    assert.equal(runner.metrics.get('hydrant_errors_total', { component: 'out', kind: 'processing_failed', transform: 'no_cancelled' }), bad.length);
    assert.equal(runner.metrics.get('hydrant_errors_total', { component: 'out', kind: 'processing_failed', transform: '' }), 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('records a source-edge transform fails go to errors/<source>/processing-failed/, naming the transform', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-errors-src-'));
  try {
    const spec = runtimeSpecFromPlain({
      name: 'errors-source-test',
      lake: { type: 'fs', path: 'lake' },
      streams: { changes: { shards: 1 } },
      sources: { shop: { type: 'generator', stream: 'changes', seed: SEED, count: 1000, transforms: ['no_cancelled'] } },
      transforms: { no_cancelled: { type: 'validate', tables: ['orders'], schema: { properties: { status: { not: { const: 'cancelled' } } } } } },
      deliveries: { out: { type: 'file', stream: 'changes', max_age: 0 } },
    }, dir);
    const runner = await PipelineRunner.open(spec, { untilCaughtUp: true, logger: silentLogger });
    assert.equal((await runner.run()).reason, 'caught-up');
    const w = new Workload(SEED, { source: 'shop', database: 'shop', schema: 'public', startMillis: Date.parse('2024-01-01T00:00:00Z') });
    const bad = Array.from({ length: 1000 }, () => w.next()).filter((e) => e.source.table === 'orders' && (e.after ?? e.before)?.['status'] === 'cancelled');
    assert.ok(bad.length > 0, 'the workload has cancelled orders');
    const lake = new FsObjectStore(join(dir, 'lake'));
    const all = await lake.list('errors/');
    assert.equal(all.length, bad.length);
    const positions: string[] = [];
    for (const o of all) {
      assert.ok(o.key.startsWith('errors/shop/processing-failed/'), o.key);
      const j = JSON.parse(Buffer.from(await lake.get(o.key)).toString()) as Record<string, unknown>;
      assert.equal(j['component'], 'shop');
      assert.equal(j['transform'], 'no_cancelled');
      positions.push(decodeEnvelope(Buffer.from(String(j['rawData']), 'base64')).source.position);
    }
    assert.deepEqual(positions.sort(), bad.map((e) => e.source.position).sort());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/**
 * Merge failures inside a run: they are logged and retried with back-off, and they never stop
 * capture. The lake is the real local-directory store, wrapped so that its first writes of
 * current-state files fail the way a lost connection does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectionError } from '../../src/core/errors.ts';
import { createLogger } from '../../src/core/logger.ts';
import { FsObjectStore } from '../../src/lake/fs/fs-object-store.ts';
import type { ObjectInfo, ObjectStore } from '../../src/lake/object-store.ts';
import { runtimeSpecFromPlain } from '../../src/runtime/build.ts';
import { mergeFailed } from '../../src/runtime/current-state-merger.ts';
import { PipelineRunner } from '../../src/runtime/pipeline-runner.ts';
import { canonRows } from '../lake/current/compare.ts';
import { readStoredTables, replayGenerator } from './current-state-support.ts';

const SEED = 4242;
console.log(`current-state merger test seed=${SEED}`);

/**
 * The real store; its first `failures` puts under a `current/` prefix throw a ConnectionError,
 * and so does every put under `failPrefix` while it is set.
 */
class FlakyCurrentWrites implements ObjectStore {
  readonly #inner: FsObjectStore;
  #failures: number;
  failed = 0;
  failPrefix: string | undefined;
  constructor(inner: FsObjectStore, failures: number) {
    this.#inner = inner;
    this.#failures = failures;
  }
  get location(): string {
    return this.#inner.location;
  }
  put(key: string, body: Uint8Array | AsyncIterable<Uint8Array>, options?: { readonly contentType?: string }): Promise<{ readonly size: number }> {
    if ((key.includes('/current/') && this.#failures > 0) || (this.failPrefix !== undefined && key.startsWith(this.failPrefix))) {
      if (this.failPrefix === undefined || !key.startsWith(this.failPrefix)) this.#failures--;
      this.failed++;
      return Promise.reject(new ConnectionError(`injected: lost the connection while writing ${key}`));
    }
    return this.#inner.put(key, body, options);
  }
  get(key: string): Promise<Uint8Array> {
    return this.#inner.get(key);
  }
  head(key: string): Promise<ObjectInfo | undefined> {
    return this.#inner.head(key);
  }
  list(prefix: string): Promise<ObjectInfo[]> {
    return this.#inner.list(prefix);
  }
  delete(key: string): Promise<void> {
    return this.#inner.delete(key);
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

test('failing merges are logged and retried with back-off while capture goes on; the run ends with every table merged', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-merger-'));
  const lake = new FlakyCurrentWrites(new FsObjectStore(join(dir, 'lake')), 3);
  try {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', sink: (l) => lines.push(l) });
    const count = 3000;
    const spec = runtimeSpecFromPlain({
      name: 'merger-test',
      lake: { type: 'fs', path: 'lake' },
      current_state: { enabled: true, interval: '100ms', buckets: 2 },
      streams: { changes: { shards: 2 } },
      sources: { shop: { type: 'generator', stream: 'changes', seed: SEED, count, batch_size: 200 } },
      deliveries: { lake: { type: 'lake', stream: 'changes', format: 'parquet', buffer_interval_s: 0 } },
    }, dir);
    const runner = await PipelineRunner.open(spec, { untilCaughtUp: true, logger, lake });
    const summary = await runner.run();
    assert.equal(summary.reason, 'caught-up');
    // Capture was not stopped: everything was appended and delivered.
    assert.equal(summary.positions['shop'], String(count).padStart(16, '0'));
    let delivered = 0;
    for (const t of ['customers', 'products', 'orders', 'order_items']) delivered += runner.metrics.get('hydrant_delivery_records_total', { delivery: 'lake', table: t });
    assert.equal(delivered, count);
    // Every injected failure was hit, logged, and the round retried.
    assert.equal(lake.failed, 3);
    assert.ok(runner.metrics.get('hydrant_merge_rounds_total', { outcome: 'failed' }) >= 1);
    assert.ok(lines.some((l) => l.includes('"level":"error"') && l.includes('injected: lost the connection')), 'the failure is logged with its message');
    assert.ok(lines.some((l) => /merge of shop\.public\.\w+ failed \d+ time\(s\) in a row; retrying it in \d+ ms|final merge: \d+ table\(s\) failed; retrying in \d+ ms/.test(l)), 'the retry is logged');
    // The final merge succeeded and left every table equal to a replay of the generator.
    assert.ok(summary.merged !== undefined && summary.merged.length === 4 && !summary.merged.some(mergeFailed), JSON.stringify(summary.merged));
    const stored = await readStoredTables(dir);
    const expected = replayGenerator(SEED, count, new Map([...stored].map(([t, s]) => [t, s.schema])));
    for (const [t, s] of stored) assert.deepEqual(canonRows(s.rows, s.schema), expected.get(t), `${t}: rows equal the replay`);
  } finally {
    await lake.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('one table that keeps failing backs off on its own while the others merge every interval; it recovers once writes work again', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-merger-'));
  const lake = new FlakyCurrentWrites(new FsObjectStore(join(dir, 'lake')), 0);
  lake.failPrefix = 'databases/shop/public/orders/current/';
  try {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', sink: (l) => lines.push(l) });
    const spec = runtimeSpecFromPlain({
      name: 'merger-test',
      lake: { type: 'fs', path: 'lake' },
      current_state: { enabled: true, interval: '100ms', buckets: 2 },
      streams: { changes: { shards: 1 } },
      // Endless and rate-limited: only stop() ends it.
      sources: { shop: { type: 'generator', stream: 'changes', seed: SEED, count: 0, rate: 2000, batch_size: 100 } },
      deliveries: { lake: { type: 'lake', stream: 'changes', format: 'parquet', buffer_interval_s: 0 } },
    }, dir);
    const runner = await PipelineRunner.open(spec, { logger, lake });
    const done = runner.run();
    const version = (table: string): number => runner.metrics.get('hydrant_current_version', { table: `shop.public.${table}` });
    const until = async (what: () => boolean): Promise<void> => {
      while (!what()) await new Promise((r) => setTimeout(r, 50));
    };
    // No time limit is asserted: wait for orders to have failed three times in a row (its back-off
    // grows: 1 s, 2 s, 4 s, with jitter) while customers kept merging.
    await until(() => lines.some((l) => l.includes('merge of shop.public.orders failed 3 time(s) in a row')));
    const customersBefore = version('customers');
    await until(() => version('customers') >= customersBefore + 2);
    assert.equal(version('orders'), 0, 'orders never committed while its writes fail');
    const waits = lines.filter((l) => l.includes('merge of shop.public.orders failed')).map((l) => Number(/retrying it in (\d+) ms/.exec(l)?.[1]));
    assert.ok(waits[2]! > waits[0]!, `back-off grows: ${waits.join(', ')} ms`);
    assert.ok(waits.every((w) => w >= 500), `the first retry waits at least half a second, not the 100 ms interval: ${waits.join(', ')}`);
    assert.ok(!lines.some((l) => /merge of shop\.public\.(customers|products|order_items) failed/.test(l)), 'only orders failed');
    // Writes work again: orders merges at its next retry, and capture never stopped.
    lake.failPrefix = undefined;
    await until(() => version('orders') >= 1);
    runner.stop();
    const summary = await done;
    assert.equal(summary.reason, 'stopped');
    const stored = await readStoredTables(dir);
    const schemas = new Map([...stored].map(([t, s]) => [t, s.schema]));
    const appended = Number(summary.positions['shop']);
    for (const [t, s] of stored) {
      const expected = replayGenerator(SEED, appended, schemas, (e) => e.source.table === t && s.mergedPositions.has(e.source.position));
      assert.deepEqual(canonRows(s.rows, s.schema), expected.get(t), `${t}: rows equal the replay of the changes it merged`);
    }
  } finally {
    await lake.close();
    await rm(dir, { recursive: true, force: true });
  }
});

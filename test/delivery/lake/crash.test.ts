/**
 * Crash tests: a child runs the lake delivery over a pre-filled embedded stream and dies at a
 * named crash point or by a seeded random SIGKILL; a fresh child then finishes. Afterwards
 * every record is in the lake exactly once, the catalog lists exactly the objects a plain
 * listing of the directory or bucket shows, and no intent is left.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { encodeEnvelope } from '../../../src/core/change-event.ts';
import { schemaKey } from '../../../src/core/schema.ts';
import { lakeConfigSchema, openObjectStore } from '../../../src/lake/lake-config.ts';
import { listObjects } from '../../../src/lake/catalog/catalog.ts';
import { EmbeddedStateStore } from '../../../src/state/embedded/embedded-state-store.ts';
import type { StateValue } from '../../../src/state/state-store.ts';
import { EmbeddedStreamLog } from '../../../src/stream/embedded/embedded-stream-log.ts';
import { runNode, type ChildExit } from '../../support/child-process.ts';
import { startS3, type S3Server } from '../../support/s3.ts';
import { ORDERS, orderChange } from './fixtures.ts';
import { prng as rng } from '../../support/prng.ts';

const CHILD = join(import.meta.dirname, 'crash-child.ts');

async function prefill(dataDir: string, n: number, noteBytes: number): Promise<number> {
  const state = await EmbeddedStateStore.open({ dataDir });
  await state.commit([{ type: 'put', key: schemaKey(ORDERS, 1), value: { ...ORDERS, columns: [...ORDERS.columns, { name: 'note', type: { kind: 'string' }, nullable: true }] } as unknown as StateValue }]);
  const log = new EmbeddedStreamLog({ dataDir, state, retentionIntervalMs: 0 });
  await log.ensureStream('orders', { shards: 2 });
  const note = 'x'.repeat(noteBytes);
  for (let i = 0; i < n; i += 500) {
    const batch = Array.from({ length: Math.min(500, n - i) }, (_, j) => {
      const id = i + j + 1;
      const e = orderChange(id, id % 10 === 0 ? 'update' : 'insert', Date.UTC(2024, 0, 2, id % 3, 0, 0), { note: `${id}:${note}` });
      return { partitionKey: `orders:${id}`, data: encodeEnvelope(e) };
    });
    await log.append('orders', batch);
  }
  await log.close();
  await state.close();
  return n;
}

function runChild(env: Record<string, string>, killAfterMs?: number): Promise<ChildExit> {
  return runNode(['--import', 'tsx', CHILD], { env: { ...process.env, ...env }, ...(killAfterMs === undefined ? {} : { killAfterMs }) });
}

/** Every record exactly once; listing == catalog; no intents. */
async function verify(dataDir: string, lakeSection: Record<string, unknown>, n: number): Promise<void> {
  const lake = openObjectStore(lakeConfigSchema.parse(lakeSection), dataDir);
  const state = await EmbeddedStateStore.open({ dataDir });
  try {
    const listed = (await lake.list('')).map((o) => o.key);
    const catalog = (await listObjects(state)).map((o) => o.key).sort();
    assert.deepEqual(listed, catalog, 'a plain listing shows exactly the catalog objects (no partial, orphan or duplicate)');
    assert.deepEqual(await state.list('intents/'), [], 'no intent left');
    if (lakeSection['type'] === 'fs') assert.deepEqual(readdirSync(join(dataDir, 'lake', '.hydrant-tmp')), [], 'no temporary file left');
    const seen = new Map<string, number>();
    for (const key of listed) {
      const body = await lake.get(key);
      let rows: Array<{ _shard: string; _sequence: string; id: unknown }>;
      if (key.endsWith('.parquet')) {
        const ab = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
        rows = (await parquetReadObjects({ file: ab, compressors, columns: ['_shard', '_sequence', 'id'] })) as typeof rows;
      } else {
        const plain = key.endsWith('.gz') ? gunzipSync(body) : body;
        rows = Buffer.from(plain).toString().trim().split('\n').map((l) => JSON.parse(l) as (typeof rows)[number]);
      }
      for (const r of rows) {
        const k = `${r._shard}/${r._sequence}`;
        seen.set(k, (seen.get(k) ?? 0) + 1);
      }
    }
    const dup = [...seen].filter(([, c]) => c !== 1);
    assert.deepEqual(dup, [], 'no record twice');
    assert.equal(seen.size, n, 'every record present');
    const cps = await state.list('consumers/orders/to_lake/');
    assert.equal(cps.length, 2);
  } finally {
    await state.close();
    await lake.close();
  }
}

interface Scenario {
  readonly name: string;
  readonly records: number;
  readonly noteBytes: number;
  readonly delivery: Record<string, unknown>;
  /** Crash points to hit in turn (each on a fresh child). */
  readonly crashes: readonly string[];
  /** Seeded random SIGKILLs after the named crashes. */
  readonly randomKills: number;
  readonly s3: boolean;
  /** Config of the final run when it differs (buffer boundaries move, so a leftover object would be an orphan). */
  readonly finalDelivery?: Record<string, unknown>;
}

const PARTITIONED = { format: 'parquet', compression: 'zstd', changes_prefix: 'databases/{source}/{table}/region={field:region}/hour={event_time:HH}', buffer_size_mib: 0.05, buffer_interval_s: 900 };

const SCENARIOS: Scenario[] = [
  { name: 'local: crash after upload before catalog, then after catalog (= checkpoint transaction)', records: 3000, noteBytes: 40, delivery: PARTITIONED, crashes: ['lake.after-upload-before-catalog:3', 'lake.after-catalog-before-checkpoint:2', 'lake.after-upload-before-catalog:1'], randomKills: 0, s3: false, finalDelivery: { ...PARTITIONED, buffer_size_mib: 0.08 } },
  { name: 'local: seeded random SIGKILLs', records: 20000, noteBytes: 40, delivery: PARTITIONED, crashes: [], randomKills: 4, s3: false },
  { name: 'S3: crash after upload before catalog, after catalog, mid-multipart', records: 12000, noteBytes: 1000, delivery: { format: 'jsonl', compression: 'none', changes_prefix: 'c', buffer_size_mib: 64, buffer_interval_s: 900 }, crashes: ['lake.mid-multipart:1', 'lake.after-catalog-before-checkpoint:1', 'lake.after-upload-before-catalog:1'], randomKills: 0, s3: true, finalDelivery: { format: 'jsonl', compression: 'none', changes_prefix: 'c', buffer_size_mib: 4, buffer_interval_s: 900 } },
  { name: 'S3: seeded random SIGKILLs', records: 20000, noteBytes: 40, delivery: { ...PARTITIONED, format: 'jsonl', compression: 'gzip' }, crashes: [], randomKills: 4, s3: true },
];

for (const sc of SCENARIOS) {
  test(sc.name, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hydrant-lake-crash-'));
    let s3: S3Server | undefined;
    try {
      const n = await prefill(dataDir, sc.records, sc.noteBytes);
      s3 = sc.s3 ? await startS3() : undefined;
      const lakeSection = s3 === undefined ? { type: 'fs', path: 'lake' } : s3.lakeConfig('pre');
      const env = { CHILD_DATA_DIR: dataDir, CHILD_LAKE: JSON.stringify(lakeSection), CHILD_DELIVERY: JSON.stringify(sc.delivery) };
      for (const point of sc.crashes) {
        const r = await runChild({ ...env, HYDRANT_CRASH_AT: point });
        assert.equal(r.signal, 'SIGKILL', `child should die at ${point}; stderr: ${r.stderr.slice(-2000)} stdout: ${r.stdout}`);
        assert.match(r.stderr, new RegExp(`HYDRANT CRASH POINT ${point.split(':')[0]}`));
      }
      if (sc.randomKills > 0) {
        const seed = Number(process.env['HYDRANT_TEST_SEED'] ?? Date.now() % 1_000_000);
        console.log(`# ${sc.name}: seed ${seed} (HYDRANT_TEST_SEED=${seed} to repeat)`);
        const rand = rng(seed);
        for (let k = 0; k < sc.randomKills; k++) {
          // Children need ~1-2 s to load; kill somewhere in their working life.
          const after = 700 + Math.floor(rand() * 3000);
          const r = await runChild(env, after);
          console.log(`#   kill ${k + 1} after ${after} ms: ${r.signal ?? `exit ${r.code}`}`);
          if (r.signal === null) assert.equal(r.code, 0, r.stderr.slice(-2000));
        }
      }
      const done = await runChild(sc.finalDelivery === undefined ? env : { ...env, CHILD_DELIVERY: JSON.stringify(sc.finalDelivery) });
      assert.equal(done.code, 0, done.stderr.slice(-3000));
      assert.match(done.stdout, /DONE/);
      await verify(dataDir, lakeSection, n);
    } finally {
      await s3?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}

/**
 * Helpers of the current-state-in-the-runner tests: a generator -> lake pipeline file with
 * merging on, the current-state tables a data dir holds, and the expected tables from an
 * independent replay of the (deterministic) generator's events — plain JavaScript maps, no code
 * shared with the merge engine.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { ChangeEvent } from '../../src/core/change-event.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { latestSchema, type TableSchema } from '../../src/core/schema.ts';
import { encodeValue, type Row } from '../../src/core/values.ts';
import { readCurrentRows } from '../../src/lake/current/current-reader.ts';
import { listCurrentTables, type Manifest } from '../../src/lake/current/manifest.ts';
import { changeEntries } from '../../src/lake/current/merge-job.ts';
import { literal } from '../../src/lake/current/parquet-rows.ts';
import { FsObjectStore } from '../../src/lake/fs/fs-object-store.ts';
import { Workload } from '../../src/sources/generator/workload.ts';
import { EmbeddedStateStore } from '../../src/state/embedded/embedded-state-store.ts';
import { canonRows } from '../lake/current/compare.ts';

/** Settings of the test pipeline. */
export interface MergePipeline {
  readonly seed: number;
  /** Events to generate (0 = endless). */
  readonly count: number;
  readonly rate?: number;
  /** `current_state.interval`. */
  readonly interval: string;
}

/** Writes `<dir>/pipeline.yaml`: generator -> 2-shard stream -> lake (Parquet), merging on; data in `<dir>/data`. */
export async function writeMergePipeline(dir: string, p: MergePipeline): Promise<string> {
  const file = join(dir, 'pipeline.yaml');
  await writeFile(file, [
    'name: merge-in-run',
    'data_dir: data',
    'lake: { type: fs, path: lake }',
    `current_state: { enabled: true, interval: ${p.interval}, buckets: 4 }`,
    'streams: { changes: { shards: 2 } }',
    'sources:',
    `  shop: { type: generator, stream: changes, seed: ${p.seed}, count: ${p.count}, rate: ${p.rate ?? 0}, batch_size: 200 }`,
    'deliveries:',
    '  lake: { type: lake, stream: changes, format: parquet, buffer_interval_s: 0 }',
    '',
  ].join('\n'));
  return file;
}

/** One current-state table as stored: its manifest, schema, rows, and the positions of the changes merged into it. */
export interface StoredTable {
  readonly manifest: Manifest;
  readonly schema: TableSchema;
  readonly rows: Row[];
  /** `_position` of every change in the change objects the manifest's checkpoint lists. */
  readonly mergedPositions: Set<string>;
}

/** Reads every current-state table of a data dir (the pipeline must have stopped). */
export async function readStoredTables(dataDir: string): Promise<Map<string, StoredTable>> {
  const state = await EmbeddedStateStore.open({ dataDir, logger: silentLogger });
  const lake = new FsObjectStore(join(dataDir, 'lake'));
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const out = new Map<string, StoredTable>();
  try {
    const objectKeys = new Map((await changeEntries(state)).map((e) => [e.key, e.object.key]));
    for (const m of await listCurrentTables(state)) {
      const schema = (await latestSchema(state, m.table)) as TableSchema;
      const rows = await readCurrentRows({ state, lake, conn, tmpDir: join(dataDir, 'tmp', 'test'), table: m.table, schema });
      const listed = ((m.checkpoint ?? { objects: [] }) as { objects: string[] }).objects.map((k) => objectKeys.get(k));
      if (listed.some((k) => k === undefined)) throw new Error(`${m.table.table}: the checkpoint lists a change object that is not in the catalog`);
      const mergedPositions = new Set<string>();
      if (listed.length > 0) {
        const r = await conn.runAndReadAll(`SELECT _position FROM read_parquet([${listed.map((k) => literal(lake.pathOf(k as string))).join(', ')}])`);
        for (const [p] of r.getRows()) mergedPositions.add(String(p));
      }
      out.set(m.table.table, { manifest: m, schema, rows, mergedPositions });
    }
  } finally {
    conn.closeSync();
    db.closeSync();
    await state.close();
  }
  return out;
}

/**
 * Replays the generator's first `count` events into one map per table (key -> row), applying
 * only the events `include` accepts; the canonical rows per table are returned.
 */
export function replayGenerator(seed: number, count: number, schemas: ReadonlyMap<string, TableSchema>, include: (e: ChangeEvent) => boolean = () => true): Map<string, string[]> {
  return replayEvents(generatorEvents(seed, count), schemas, include);
}

/** The first `count` events of the generator with `seed` (the generator source's defaults). */
export function generatorEvents(seed: number, count: number): ChangeEvent[] {
  const w = new Workload(seed, { source: 'shop', database: 'shop', schema: 'public', startMillis: Date.parse('2024-01-01T00:00:00Z') });
  return Array.from({ length: count }, () => w.next());
}

/** Like {@link replayGenerator}, over given events (e.g. the generator's, anonymized). */
export function replayEvents(events: Iterable<ChangeEvent>, schemas: ReadonlyMap<string, TableSchema>, include: (e: ChangeEvent) => boolean = () => true): Map<string, string[]> {
  const tables = new Map<string, Map<string, Row>>();
  for (const e of events) {
    if (!include(e)) continue;
    const schema = schemas.get(e.source.table);
    if (schema === undefined) throw new Error(`the generator emitted table ${e.source.table}, which has no current-state table`);
    const rows = tables.get(e.source.table) ?? new Map<string, Row>();
    tables.set(e.source.table, rows);
    const keyOf = (r: Row): string => JSON.stringify(encodeValue(schema.primaryKey.map((c) => r[c] ?? null)));
    if (e.op === 'truncate') rows.clear();
    else if (e.op === 'delete') rows.delete(keyOf(e.before ?? e.key));
    else {
      const after = e.after as Row;
      if (e.before !== null && keyOf(e.before) !== keyOf(after)) rows.delete(keyOf(e.before));
      rows.set(keyOf(after), after);
    }
  }
  return new Map([...schemas].map(([t, s]) => [t, canonRows((tables.get(t) ?? new Map<string, Row>()).values(), s)]));
}

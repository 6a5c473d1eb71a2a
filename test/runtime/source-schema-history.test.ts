/**
 * Sources keep their schema version history in the state store (the PostgreSQL source reads
 * the newest recorded version of a table and emits a new one when its columns differ). With
 * transforms on the source edge, `schemas/` holds the mapped schema (other columns, maybe
 * another table name), so sources must read their own history (`source-schemas/`, through
 * SourceStateView): otherwise every restart would see "changed" columns and bump the version,
 * or, after a table rename, see nothing, reuse version 1 for new columns and stop the pipeline.
 *
 * The test source below implements exactly that version rule over `ctx.state`, as the
 * PostgreSQL source does (src/sources/postgres/relations.ts, snapshot-table.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { ChangeEvent } from '../../src/core/change-event.ts';
import type { ComponentContext, ComponentDescriptor } from '../../src/core/component.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { latestSchema, sameColumns, type ColumnSchema, type TableSchema } from '../../src/core/schema.ts';
import { Timestamp } from '../../src/core/values.ts';
import { FsObjectStore } from '../../src/lake/fs/fs-object-store.ts';
import { LakeQuery } from '../../src/lake/query/lake-query.ts';
import { runtimeSpecFromPlain } from '../../src/runtime/build.ts';
import { PipelineRunner } from '../../src/runtime/pipeline-runner.ts';
import type { RuntimeSpec } from '../../src/runtime/runtime-spec.ts';
import type { Source, SourceBatch } from '../../src/sources/source.ts';
import { EmbeddedStateStore } from '../../src/state/embedded/embedded-state-store.ts';
import type { StateStore } from '../../src/state/state-store.ts';

const TABLE = { source: 'app', database: 'app', schema: 'public', table: 'people' };
const col = (name: string, kind: 'int64' | 'string'): ColumnSchema => ({ name, type: { kind }, nullable: kind !== 'int64' });

/** Emits 3 rows of `people` with `columns`, versioned like the PostgreSQL source; notes the version it chose. */
class VersioningSource implements Source {
  readonly #state: StateStore;
  readonly #columns: readonly ColumnSchema[];
  readonly #run: number;
  readonly #chosen: number[];
  #batch: SourceBatch | undefined;

  constructor(state: StateStore, columns: readonly ColumnSchema[], run: number, chosen: number[]) {
    this.#state = state;
    this.#columns = columns;
    this.#run = run;
    this.#chosen = chosen;
  }

  async start(): Promise<void> {
    const latest = await latestSchema(this.#state, TABLE);
    const candidate = { columns: this.#columns, primaryKey: ['id'] };
    const schema: TableSchema = latest !== undefined && sameColumns(latest, candidate) ? latest : { ...TABLE, version: (latest?.version ?? 0) + 1, ...candidate };
    this.#chosen.push(schema.version);
    const events: ChangeEvent[] = [1, 2, 3].map((i) => {
      const id = BigInt(this.#run * 10 + i);
      const after = Object.fromEntries(this.#columns.map((c) => [c.name, c.name === 'id' ? id : `${c.name}-${id}`]));
      return { op: 'insert', source: { kind: 'test', name: 'app', database: 'app', schema: 'public', table: 'people', position: String(id).padStart(8, '0'), commitTime: Timestamp.fromMillis(Date.UTC(2024, 0, 1)) }, key: { id }, before: null, after, schemaVersion: schema.version };
    });
    this.#batch = { events, schemas: [schema], position: String(this.#run * 10 + 3).padStart(8, '0'), caughtUp: false };
  }

  async next(): Promise<SourceBatch> {
    const b = this.#batch;
    this.#batch = undefined;
    return b ?? { events: [], position: String(this.#run * 10 + 3).padStart(8, '0'), caughtUp: true };
  }

  async ack(): Promise<void> {}
  async close(): Promise<void> {}
}

function spec(dir: string, transforms: Record<string, Record<string, unknown>>, columns: readonly ColumnSchema[], run: number, chosen: number[]): RuntimeSpec {
  const base = runtimeSpecFromPlain({
    name: 'history',
    lake: { type: 'fs', path: 'lake' },
    streams: { changes: { shards: 1 } },
    sources: { app: { type: 'generator', stream: 'changes', count: 1, transforms: Object.keys(transforms) } },
    transforms,
    deliveries: { lake: { type: 'lake', stream: 'changes', format: 'parquet', compression: 'zstd', buffer_interval_s: 0 } },
  }, dir);
  const descriptor: ComponentDescriptor<z.ZodObject, Source> = { kind: 'versioning_test', summary: 'test source', config: z.strictObject({}), create: (_c, ctx: ComponentContext) => new VersioningSource(ctx.state, columns, run, chosen) };
  return { ...base, sources: { app: { ...base.sources['app']!, type: 'versioning_test', config: {}, descriptor } } };
}

const CASES: ReadonlyArray<{ name: string; table: string; transforms: Record<string, Record<string, unknown>> }> = [
  { name: 'columns renamed and added, table renamed', table: 'persons', transforms: { names: { type: 'rename', tables: [{ from: 'people', to: 'persons' }], columns: [{ tables: ['people'], from: 'name', to: 'full_name' }] }, meta: { type: 'add', columns: [{ name: 'env', value: 'constant', constant: 'prod' }] } } },
  { name: 'a column added, same table name', table: 'people', transforms: { meta: { type: 'add', columns: [{ name: 'env', value: 'constant', constant: 'prod' }] } } },
];

for (const c of CASES) {
  test(`restarts keep the source's schema version; a new source column is a new version that reaches the lake (${c.name})`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hydrant-schema-history-'));
    try {
      const chosen: number[] = [];
      const v1 = [col('id', 'int64'), col('name', 'string')];
      const v2 = [...v1, col('nickname', 'string')];
      for (const [run, columns] of [[1, v1], [2, v1], [3, v2]] as const) {
        const runner = await PipelineRunner.open(spec(dir, c.transforms, columns, run, chosen), { untilCaughtUp: true, logger: silentLogger });
        assert.equal((await runner.run()).reason, 'caught-up', `run ${run}`);
      }
      assert.deepEqual(chosen, [1, 1, 2], 'versions the source chose: unchanged across a restart, bumped for a new column');
      const state = await EmbeddedStateStore.open({ dataDir: dir, logger: silentLogger });
      const q = new LakeQuery({ state, lake: new FsObjectStore(join(dir, 'lake')), cacheDir: join(dir, 'query-cache') });
      try {
        const mapped = await state.list(`schemas/app.public.${c.table}/`);
        assert.equal(mapped.length, 2);
        const latest = mapped[1]!.value as unknown as TableSchema;
        assert.deepEqual(latest.columns.map((x) => x.name), c.table === 'persons' ? ['id', 'full_name', 'nickname', 'env'] : ['id', 'name', 'nickname', 'env']);
        const r = await q.run(`SELECT count(*) AS n, count(nickname) AS nick, count(env) AS env FROM app.public.${c.table}_changes`);
        assert.deepEqual(r.rows.map((x) => [Number(x['n']), Number(x['nick']), Number(x['env'])]), [[9, 3, 9]]);
      } finally {
        await q.close();
        await state.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

/**
 * {@link MergeEngine}: applies a batch of change events to a current-state table stored as
 * Parquet files, copy-on-write by key bucket, and switches the table to the new file set with
 * one conditional state-store commit.
 *
 * Steps of {@link MergeEngine.merge}: order the batch and drop what the table already has
 * (high-water position, unless the merge job chose the events by per-shard marks); plan which buckets it touches; for each group of buckets either let
 * DuckDB apply the latest change per key (whole-row changes) or load the bucket files, apply
 * the changes with {@link CurrentState} (TOAST-unchanged columns, key moves) and write new
 * files under fresh names; then commit the new manifest, the `head` pointer and the list of replaced files in
 * one transaction, conditional on `head` still being the version the merge started from.
 * A crash before that commit leaves unreferenced files (swept by the next merge); a crash
 * after it leaves replaced files, deleted once the grace period has passed so readers that
 * started on the old version can finish.
 *
 * {@link MergeEngine.mergeChangeObjects} is the same merge for Parquet change objects done
 * entirely in DuckDB (`sql-merge.ts`).
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { ChangeEvent } from '../../core/change-event.ts';
import type { Metrics } from '../../core/metrics.ts';
import { tableId, type TableSchema } from '../../core/schema.ts';
import type { Row } from '../../core/values.ts';
import type { StateStore, StateValue } from '../../state/state-store.ts';
import type { ObjectStore } from '../object-store.ts';
import { CurrentState, orderChanges, type ApplyStats } from './current-state.ts';
import { MergeError } from './errors.ts';
import { localCopy, tempPath, uploadFile } from './local-files.ts';
import { dataFileKey, emptyManifest, loadManifest, type Manifest, type ManifestFile, type TableRef } from './manifest.ts';
import { planMerge, type MergeGroup } from './merge-plan.ts';
import { createRowsTable, readRowsParquet, tempTableName, writeRowsParquet } from './parquet-rows.ts';
import { bucketOf, hasKey } from './row-key.ts';
import { cleanupTable } from './cleanup.ts';
import { rewriteBuckets } from './bucket-rewrite.ts';
import { commitVersion } from './commit-version.ts';
import { recordMerge } from './merge-metrics.ts';
import { mergeChangeObjectsSql, type SqlMergeInput } from './sql-merge.ts';
import type { TableMarks } from './shard-marks.ts';

/** Crash points of a merge, for kill -9 tests. */
export const MERGE_CRASH_POINTS = ['current.merge.files-written', 'current.merge.manifest-committed'] as const;

/** Settings of a {@link MergeEngine}. */
export interface MergeEngineOptions {
  readonly state: StateStore;
  readonly lake: ObjectStore;
  /** Local directory for DuckDB's files (created when missing). */
  readonly tmpDir: string;
  /** Key-hash buckets of a new table (existing tables keep theirs). */
  readonly buckets?: number;
  /** How long replaced files stay readable after a merge, in ms. */
  readonly graceMs?: number;
  readonly metrics?: Metrics;
  /** Clock, for tests. */
  readonly now?: () => number;
  /**
   * Memory limit of the merge's DuckDB in MiB (default 1024); beyond it DuckDB spills to
   * `tmpDir`, so a large merge stays within bounds instead of growing with the table.
   */
  readonly memoryLimitMiB?: number;
}

/** One batch to merge. */
export interface MergeInput {
  readonly table: TableRef;
  readonly events: readonly ChangeEvent[];
  /** Stored in the manifest atomically with the new version (the merge job's catalog position). */
  readonly checkpoint: StateValue;
  /** Looks up a schema version of the table (normally `loadSchema` on the state store). */
  readonly schema: (version: number) => Promise<TableSchema | undefined>;
  /**
   * Rebuild the table from `events` alone (the whole history): no high-water skipping, every
   * existing file replaced. The merge job uses it when a change object arrives late, with
   * changes older than what the table already shows.
   */
  readonly rebuild?: boolean;
  /**
   * Per-shard marks of the new version, from the merge job, which has already chosen the
   * events to apply shard by shard (`shard-marks.ts`): with them, events are not skipped by
   * the table-wide high water. Without them, they are, and the new manifest keeps no marks.
   */
  readonly marks?: TableMarks;
}

/** What a merge did. */
export interface MergeResult {
  /** The readable version afterwards. */
  readonly version: number;
  /** false when nothing changed and nothing was committed. */
  readonly committed: boolean;
  readonly stats: ApplyStats;
  readonly rows: number;
  readonly bucketsRewritten: number;
  readonly filesWritten: number;
  readonly filesKept: number;
  /** Bucket groups merged in SQL (whole-row changes) and in JavaScript (TOAST, key moves). */
  readonly groups: { readonly sql: number; readonly js: number };
  /** `sql`: Parquet change objects merged entirely in DuckDB; `events`: through change events. */
  readonly path: 'sql' | 'events';
  /** Seconds from the source commit of the batch's oldest change to this version's commit (null when nothing was applied). */
  readonly lagSeconds: number | null;
}

export class MergeEngine {
  readonly #opts: MergeEngineOptions;
  readonly #db: DuckDBInstance;
  readonly #conn: DuckDBConnection;

  private constructor(opts: MergeEngineOptions, db: DuckDBInstance, conn: DuckDBConnection) {
    this.#opts = opts;
    this.#db = db;
    this.#conn = conn;
  }

  /** Opens an engine with its own in-process DuckDB. */
  static async open(opts: MergeEngineOptions): Promise<MergeEngine> {
    await mkdir(opts.tmpDir, { recursive: true });
    const db = await DuckDBInstance.create(':memory:', { temp_directory: opts.tmpDir, memory_limit: `${opts.memoryLimitMiB ?? 1024}MB` });
    return new MergeEngine(opts, db, await db.connect());
  }

  /** The DuckDB connection (readers reuse it). */
  get connection(): DuckDBConnection {
    return this.#conn;
  }

  /** Merges one batch; see the module documentation for the steps. */
  async merge(input: MergeInput): Promise<MergeResult> {
    const { table } = input;
    const id = tableId(table);
    const now = this.#opts.now ?? Date.now;
    const head = (await loadManifest(this.#opts.state, table)) ?? emptyManifest(table, this.#opts.buckets ?? 16);
    const { ordered, skipped } = orderChanges(input.events, input.rebuild === true || input.marks !== undefined ? undefined : (head.highWater ?? undefined));
    const stats: ApplyStats = { applied: 0, skipped, truncates: 0, missingPrevious: 0 };
    if (ordered.length === 0 && JSON.stringify(input.checkpoint) === JSON.stringify(head.checkpoint)) {
      return { version: head.version, committed: false, stats, rows: head.rows, bucketsRewritten: 0, filesWritten: 0, filesKept: head.files.length, groups: { sql: 0, js: 0 }, lagSeconds: null, path: 'events' };
    }
    let schemaVersion = head.schemaVersion;
    for (const e of ordered) if (e.schemaVersion > schemaVersion) schemaVersion = e.schemaVersion;
    const schema = await input.schema(schemaVersion);
    if (schema === undefined) {
      throw new MergeError(`schema version ${schemaVersion} of table ${id} is not in the state store, so its current-state table cannot be written; the source records every schema version before its changes — check that the merge uses the pipeline's state store.`, { table: id, schemaVersion });
    }
    const plan = planMerge(ordered, schema.primaryKey, head.buckets, id);
    stats.applied += plan.discarded;
    if (plan.truncated) stats.truncates++;
    const version = head.version + 1;
    const attempt = randomBytes(4).toString('hex');
    const oldByBucket = new Map(head.files.map((f) => [f.bucket, f]));
    const dropAll = plan.truncated || input.rebuild === true;
    const rewritten = new Set<number>(dropAll ? oldByBucket.keys() : []);
    const written: ManifestFile[] = [];
    const groups = { sql: 0, js: 0 };
    for (const group of plan.groups) {
      // Whole-row changes: "latest change per key" in SQL, without loading the bucket files
      // into JavaScript (the table is much larger than the batch).
      if (group.wholeRows) {
        stats.applied += group.events.length;
        groups.sql++;
        for (const b of group.buckets) rewritten.add(b);
        for (const f of await this.#mergeWholeRows(table, schema, head.buckets, group, dropAll ? new Map() : oldByBucket, version, attempt)) written.push(f);
        continue;
      }
      groups.js++;
      const rows: Row[] = [];
      // No spread: a bucket can hold millions of rows, more than a call's argument limit.
      if (!dropAll) for (const b of group.buckets) for (const r of await this.#readBucket(oldByBucket.get(b), schema)) rows.push(r);
      const state = new CurrentState({ table: id, primaryKey: schema.primaryKey, rows });
      rows.length = 0;
      for (const e of group.events) state.applyOrdered(e, stats);
      const byBucket = new Map<number, Row[]>();
      for (const [key, row] of state.entries()) {
        const b = bucketOf(key, head.buckets);
        let list = byBucket.get(b);
        if (list === undefined) byBucket.set(b, (list = []));
        list.push(row);
      }
      for (const b of group.buckets) {
        rewritten.add(b);
        const list = byBucket.get(b);
        if (list !== undefined && list.length > 0) written.push(await this.#writeBucket(table, schema, b, version, attempt, list));
      }
    }
    const newest = ordered.length > 0 ? (ordered[ordered.length - 1] as ChangeEvent) : undefined;
    const { manifest: next, kept } = await commitVersion(this.#opts.state, {
      head, rewritten, written, schemaVersion: schema.version, highWater: newest?.source.position ?? null, sourceCommitTime: newest?.source.commitTime.toISOString() ?? null, checkpoint: input.checkpoint, now: now(), marks: input.marks,
    });
    let oldest = Infinity;
    for (const e of ordered) oldest = Math.min(oldest, e.source.commitTime.toMillis());
    const lagSeconds = recordMerge(this.#opts.metrics, id, oldest, ordered.length, next, now());
    await cleanupTable({ state: this.#opts.state, lake: this.#opts.lake, table, graceMs: this.#opts.graceMs ?? 600_000, now: now() });
    return { version: next.version, committed: true, stats, rows: next.rows, bucketsRewritten: rewritten.size, filesWritten: written.length, filesKept: kept, groups, lagSeconds, path: 'events' };
  }

  /**
   * Merges Parquet change objects entirely in DuckDB when they allow it (see `sql-merge.ts`);
   * resolves to undefined when they need {@link MergeEngine.merge} instead.
   */
  async mergeChangeObjects(input: SqlMergeInput): Promise<{ readonly result: MergeResult; readonly rebuilt: string | undefined } | undefined> {
    return mergeChangeObjectsSql({ state: this.#opts.state, lake: this.#opts.lake, conn: this.#conn, tmpDir: this.#opts.tmpDir, buckets: this.#opts.buckets ?? 16, metrics: this.#opts.metrics, now: this.#opts.now ?? Date.now, graceMs: this.#opts.graceMs ?? 600_000 }, input);
  }

  /** Deletes replaced files whose grace period has passed and files of failed merges. */
  async cleanup(table: TableRef): Promise<{ readonly deleted: number }> {
    return cleanupTable({ state: this.#opts.state, lake: this.#opts.lake, table, graceMs: this.#opts.graceMs ?? 600_000, now: (this.#opts.now ?? Date.now)() });
  }

  async #mergeWholeRows(table: TableRef, schema: TableSchema, buckets: number, group: MergeGroup, old: ReadonlyMap<number, ManifestFile>, version: number, attempt: string): Promise<ManifestFile[]> {
    const latest = new Map<string, ChangeEvent>();
    group.events.forEach((e, i) => latest.set(group.keys[i] as string, e));
    const t = tempTableName();
    const pk = schema.primaryKey;
    try {
      await createRowsTable(this.#conn, schema, t, latest, ([, e]) => (e.op === 'delete' ? (hasKey(e.key, pk) ? e.key : (e.before as Row)) : (e.after as Row)), [
        { name: '_hydrant_bucket', type: 'INTEGER', value: ([k]) => bucketOf(k, buckets) },
        { name: '_hydrant_delete', type: 'BOOLEAN', value: ([, e]) => e.op === 'delete' },
      ]);
      return await rewriteBuckets({ conn: this.#conn, lake: this.#opts.lake, tmpDir: this.#opts.tmpDir, table, schema, delta: `temp.${t}`, buckets: group.buckets, old, version, attempt });
    } finally {
      await this.#conn.run(`DROP TABLE IF EXISTS temp.${t}`);
    }
  }

  async #readBucket(file: ManifestFile | undefined, schema: TableSchema): Promise<Row[]> {
    if (file === undefined) return [];
    const local = await localCopy(this.#opts.lake, file.key, this.#opts.tmpDir);
    try {
      return await readRowsParquet(this.#conn, schema, local.path);
    } finally {
      await local.release();
    }
  }

  async #writeBucket(table: TableRef, schema: TableSchema, bucket: number, version: number, attempt: string, rows: Row[]): Promise<ManifestFile> {
    const path = tempPath(this.#opts.tmpDir);
    const n = await writeRowsParquet(this.#conn, schema, rows, path);
    const key = dataFileKey(table, bucket, version, attempt);
    const bytes = await uploadFile(this.#opts.lake, path, key);
    return { bucket, key, rows: n, bytes, schemaVersion: schema.version };
  }

  /** Closes DuckDB. */
  async close(): Promise<void> {
    this.#conn.closeSync();
    this.#db.closeSync();
  }
}

/**
 * Plans tables for the snapshot and turns plans into chunk tasks: describes a table, splits it
 * into chunks, stores the plan (replacing the table's previous one), and on resume rebuilds the
 * tasks of every chunk that is not done, reporting how many durable rows will be read again.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from '../../../core/logger.ts';
import type { Timestamp } from '../../../core/values.ts';
import type { StateStore } from '../../../state/state-store.ts';
import { matchingTables, type SqlClient } from '../catalog.ts';
import type { TableSelection } from '../config.ts';
import type { TypeResolver } from '../type-map.ts';
import { planChunks } from './chunk-planner.ts';
import type { SnapshotProgress } from './progress.ts';
import type { SnapshotSettings } from './snapshot-config.ts';
import { SnapshotRowBuilder } from './snapshot-rows.ts';
import { loadTables, replacePlanOps, type ChunkRecord, type TablePlan } from './snapshot-state.ts';
import type { ChunkTask, TableRun } from './snapshot-tasks.ts';
import { describeTable, resolveSchemaVersion } from './snapshot-table.ts';

/** A table as the catalog lists it. */
export interface CatalogRef {
  readonly schema: string;
  readonly table: string;
  readonly oid: number;
}

/** A table whose plan is a placeholder (planning failed). */
export interface UnplannedTable {
  readonly schema: string;
  readonly table: string;
  readonly reason: TablePlan['reason'];
  readonly request: string | undefined;
}

/** What the planner needs. */
export interface TablePlannerOptions {
  readonly source: string;
  readonly database: string;
  readonly settings: SnapshotSettings;
  readonly resolver: TypeResolver;
  readonly selection: TableSelection;
  readonly state: StateStore;
  /** The source's catalog connection. */
  readonly sql: SqlClient;
  readonly logger: Logger;
  readonly progress: SnapshotProgress;
  /** `commitTime` of every snapshot event of this process. */
  readonly commitTime: Timestamp;
}

export class TablePlanner {
  readonly #o: TablePlannerOptions;

  constructor(o: TablePlannerOptions) {
    this.#o = o;
  }

  /** Plans one table on `reader` and stores the plan; throws when the table cannot be read. */
  async plan(reader: pg.Client, ct: CatalogRef, reason: TablePlan['reason'], request: string | undefined): Promise<ChunkTask[]> {
    const o = this.#o;
    const t = await describeTable(reader, o.resolver, o.selection, ct);
    const chunks = await planChunks(reader, t, o.settings.snapshot_chunk_rows);
    const plan: TablePlan = { id: randomUUID(), schema: t.schema, table: t.table, by: chunks.by, chunks: chunks.chunks, estimatedRows: chunks.estimatedRows, reason, startedAt: new Date().toISOString(), ...(request === undefined ? {} : { request }) };
    await o.state.commit(await replacePlanOps(o.state, o.source, plan));
    o.logger.info('snapshot planned', { table: `${t.schema}.${t.table}`, chunks: plan.chunks.length, by: plan.by, estimatedRows: plan.estimatedRows, reason });
    return this.tasksOf(reader, plan, new Map());
  }

  /** Stores a placeholder plan (no chunks) for a table that could not be planned, so a restart plans it again. */
  async placeholder(ct: CatalogRef, reason: TablePlan['reason'], request: string | undefined): Promise<void> {
    const o = this.#o;
    const plan: TablePlan = { id: randomUUID(), schema: ct.schema, table: ct.table, by: 'key', chunks: [], estimatedRows: 0, reason, startedAt: new Date().toISOString(), unplanned: true, ...(request === undefined ? {} : { request }) };
    await o.state.commit(await replacePlanOps(o.state, o.source, plan));
  }

  /** Tasks of every unfinished chunk of the stored plans, and the tables left unplanned. */
  async resume(reader: () => Promise<pg.Client>): Promise<{ tasks: ChunkTask[]; unplanned: UnplannedTable[] }> {
    const o = this.#o;
    const all = await loadTables(o.state, o.source);
    const unplanned = all.filter((s) => s.plan.unplanned === true).map((s) => ({ schema: s.plan.schema, table: s.plan.table, reason: s.plan.reason, request: s.plan.request }));
    const stored = all.filter((s) => s.chunks.size < s.plan.chunks.length || [...s.chunks.values()].some((c) => !c.done));
    const tasks: ChunkTask[] = [];
    if (stored.length === 0) return { tasks, unplanned };
    const tables = await matchingTables(o.sql, o.selection);
    const client = await reader();
    try {
      for (const s of stored) {
        if (!tables.some((t) => t.schema === s.plan.schema && t.table === s.plan.table)) {
          o.logger.warn('a stored snapshot plan names a table that is no longer captured: skipped', { table: `${s.plan.schema}.${s.plan.table}` });
          continue;
        }
        tasks.push(...(await this.tasksOf(client, s.plan, s.chunks)));
      }
    } finally {
      await client.end().catch(() => {});
    }
    return { tasks, unplanned };
  }

  /** The tasks of a plan's chunks that are not done (`records`: their stored progress). */
  async tasksOf(reader: pg.Client, plan: TablePlan, records: ReadonlyMap<number, ChunkRecord>): Promise<ChunkTask[]> {
    const o = this.#o;
    const ct = (await matchingTables(reader, o.selection)).find((x) => x.schema === plan.schema && x.table === plan.table);
    if (ct === undefined) return [];
    const t = await describeTable(reader, o.resolver, o.selection, ct);
    const { schema, isNew } = await resolveSchemaVersion(o.state, o.source, o.database, t);
    const run: TableRun = { name: `${plan.schema}.${plan.table}`, table: t, plan, builder: new SnapshotRowBuilder(o.source, o.database, schema, o.commitTime), schemaPending: isNew, failures: 0, retryAt: 0 };
    const tasks: ChunkTask[] = [];
    let doneChunks = 0;
    let reread = 0;
    plan.chunks.forEach((chunk, index) => {
      const rec = records.get(index);
      if (rec?.done === true) {
        doneChunks++;
        return;
      }
      reread += rec?.rows ?? 0;
      tasks.push({ run, index, chunk, durableRows: 0, previouslyDurable: rec?.rows ?? 0, completed: false });
    });
    o.progress.begin(run.name, plan.estimatedRows, plan.chunks.length, doneChunks, reread);
    if (records.size > 0) o.logger.info('snapshot resumes: rows of unfinished chunks are read again', { table: run.name, chunksDone: doneChunks, chunksLeft: tasks.length, rowsReadAgain: reread });
    return tasks;
  }
}

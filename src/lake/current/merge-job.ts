/**
 * {@link MergeJob}: keeps current-state tables up to date from the lake catalog. For each
 * table it reads the change objects committed since its checkpoint (the set of catalog
 * entries already merged, stored in the table's manifest so that it moves atomically with the
 * table), and merges them with the {@link MergeEngine}.
 *
 * Shards commit change objects on their own, so objects of different shards interleave in
 * position; that is fine, since a key's changes all go to one shard (`shard-marks.ts`). When an
 * object is truly late — it holds changes at or below what its own shard already merged
 * (possible when a table's partition buffers flush out of order), or one of the cross-shard
 * cases `shard-marks.ts` lists — applying it on top would be wrong and skipping it would lose
 * it, so the job rebuilds the table from every change object of the table (the history is kept
 * in the lake).
 */
import { latestSchema, loadSchema, type TableSchema } from '../../core/schema.ts';
import { HydrantError } from '../../core/errors.ts';
import { tableId } from '../../core/schema.ts';
import type { ChangeEvent } from '../../core/change-event.ts';
import type { Logger } from '../../core/logger.ts';
import type { StateStore, StateValue } from '../../state/state-store.ts';
import type { ObjectStore } from '../object-store.ts';
import type { CatalogObject } from '../catalog/catalog.ts';
import { readChangeObject } from './change-objects.ts';
import { compactedSources } from './compaction-records.ts';
import { loadManifest, type TableRef } from './manifest.ts';
import type { MergeEngine, MergeResult } from './merge-engine.ts';
import { MergeError } from './errors.ts';
import { orderChanges } from './current-state.ts';
import { advanceMarks, crossShardChanges, crossShardReason, dropAtOrBelow, lateReason, newest, NO_MARKS, rangeOfEvents, shardOf, startingMarks, type TableMarks } from './shard-marks.ts';

/** The merge job's checkpoint, kept in each manifest. */
export interface MergeCheckpoint {
  /** Catalog entry keys of every change object merged into this version. */
  readonly objects: readonly string[];
}

/** What one table's merge did. */
export interface TableMergeReport {
  readonly table: string;
  /** Change objects read. */
  readonly objects: number;
  /** true when a late object forced a rebuild from the whole history. */
  readonly rebuilt: boolean;
  readonly result: MergeResult | undefined;
  /** Why the table was not merged (no primary key, or the error of this table's merge). */
  readonly problem?: string;
}

export class MergeJob {
  readonly #state: StateStore;
  readonly #lake: ObjectStore;
  readonly #engine: MergeEngine;
  readonly #tmpDir: string;
  readonly #logger: Logger | undefined;
  readonly #sql: boolean;

  /** `sql: false` forces the event path even where the SQL path applies (tests compare both). */
  constructor(deps: { readonly state: StateStore; readonly lake: ObjectStore; readonly engine: MergeEngine; readonly tmpDir: string; readonly logger?: Logger; readonly sql?: boolean }) {
    this.#sql = deps.sql ?? true;
    this.#state = deps.state;
    this.#lake = deps.lake;
    this.#engine = deps.engine;
    this.#tmpDir = deps.tmpDir;
    this.#logger = deps.logger;
  }

  /** Tables with change objects in the catalog and a recorded schema (only those can be merged). */
  async tables(): Promise<TableRef[]> {
    const names = new Set((await changeEntries(this.#state)).map((e) => e.object.table));
    const refs = new Map<string, TableRef>();
    for (const { value } of await this.#state.list('schemas/')) {
      const s = value as unknown as TableSchema;
      const id = tableId(s);
      if (names.has(id) && !refs.has(id)) refs.set(id, { source: s.source, schema: s.schema, table: s.table });
    }
    return [...refs.values()].sort((a, b) => (tableId(a) < tableId(b) ? -1 : 1));
  }

  /** Merges every table (or those whose `source.schema.table` or plain name is listed). */
  async mergeAll(only?: readonly string[]): Promise<TableMergeReport[]> {
    const all = await this.tables();
    const picked = only === undefined || only.length === 0 ? all : all.filter((t) => only.includes(tableId(t)) || only.includes(t.table) || only.includes(`${t.schema}.${t.table}`));
    if (only !== undefined && only.length > 0 && picked.length === 0) {
      throw new MergeError(`no table named ${only.join(', ')} has change objects in the lake catalog; tables with changes: ${all.map(tableId).join(', ') || '(none)'}.`);
    }
    const out: TableMergeReport[] = [];
    // One table's trouble must not stop the others: it is reported and the rest merge.
    for (const t of picked) {
      const schema = await latestSchema(this.#state, t);
      if (schema !== undefined && schema.primaryKey.length === 0) {
        out.push({ table: tableId(t), objects: 0, rebuilt: false, result: undefined, problem: 'skipped: the table has no primary key, so it has no current state (its history is in the _changes table); add a primary key at the source to merge it' });
        continue;
      }
      try {
        out.push(await this.mergeTable(t));
      } catch (err) {
        if (!(err instanceof HydrantError)) throw err;
        this.#logger?.error('merge of a table failed; the other tables are merged', { table: tableId(t), error: err.message });
        out.push({ table: tableId(t), objects: 0, rebuilt: false, result: undefined, problem: err.message });
      }
    }
    return out;
  }

  /** Merges the change objects of one table committed since its checkpoint. */
  async mergeTable(t: TableRef): Promise<TableMergeReport> {
    const id = tableId(t);
    const head = await loadManifest(this.#state, t);
    const merged = new Set(((head?.checkpoint ?? null) as MergeCheckpoint | null)?.objects ?? []);
    const entries = (await changeEntries(this.#state)).filter((e) => e.object.table === id);
    // A compacted object stands for the objects it replaced: merged when all of them were.
    // Compactions can chain (a compacted object compacted again), so repeat until nothing changes.
    const compacted = await compactedSources(this.#state, id);
    for (let grew = true; grew; ) {
      grew = false;
      for (const [key, from] of compacted) {
        if (!merged.has(key) && from.every((k) => merged.has(k))) {
          merged.add(key);
          grew = true;
        }
      }
    }
    const pending = entries.filter((e) => !merged.has(e.key)).map((e) => e.object);
    const objects = entries.map((e) => e.object);
    const checkpoint: MergeCheckpoint = { objects: entries.map((e) => e.key) };
    if (pending.length === 0) return { table: id, objects: 0, rebuilt: false, result: undefined };
    const start = startingMarks(head, entries.filter((e) => merged.has(e.key)).map((e) => shardOf(e.object)));
    // Whole-row Parquet changes (everything the lake delivery writes today): all in DuckDB.
    let version = head?.schemaVersion ?? 0;
    for (const o of entries) version = Math.max(version, o.object.schemaVersion);
    const schema = await loadSchema(this.#state, t, version);
    if (schema !== undefined && this.#sql) {
      const r = await this.#engine.mergeChangeObjects({ table: t, schema, pending, all: objects, checkpoint: checkpoint as unknown as StateValue, marks: start });
      if (r !== undefined) {
        if (r.rebuilt !== undefined) this.#logger?.warn('change object arrived after newer changes were merged: rebuilt the current-state table from its history', { table: id, objects: objects.length, why: r.rebuilt });
        return { table: id, objects: r.rebuilt !== undefined ? objects.length : pending.length, rebuilt: r.rebuilt !== undefined, result: r.result };
      }
    }
    const perObject = await this.#read(pending, t);
    const ranges = perObject.map(([o, ev]) => rangeOfEvents(shardOf(o), ev));
    const floor = dropAtOrBelow(head);
    let events = perObject.flatMap(([, ev]) => (floor === null ? ev : ev.filter((e) => e.source.position > floor)));
    const pk = schema?.primaryKey ?? [];
    const cross = crossShardChanges(orderChanges(events, undefined).ordered, pk, id);
    const why = lateReason(head, ranges) ?? crossShardReason(head, cross);
    let marks: TableMarks;
    if (why !== undefined) {
      this.#logger?.warn('change object arrived after newer changes were merged: rebuilding the current-state table from its history', { table: id, objects: objects.length, why });
      const every = await this.#read(objects, t);
      events = every.flatMap(([, ev]) => ev);
      const all = crossShardChanges(orderChanges(events, undefined).ordered, pk, id);
      marks = advanceMarks(NO_MARKS, every.map(([o, ev]) => rangeOfEvents(shardOf(o), ev)), newest(all.orphan, all.lastMove));
    } else {
      marks = advanceMarks(start, ranges, newest(cross.orphan, cross.lastMove));
    }
    const late = why !== undefined;
    const result = await this.#engine.merge({ table: t, events, checkpoint: checkpoint as unknown as StateValue, schema: (v) => loadSchema(this.#state, t, v), rebuild: late, marks });
    return { table: id, objects: late ? objects.length : pending.length, rebuilt: late, result };
  }

  /** Merges every table every `intervalMs` until `signal` aborts. */
  async run(intervalMs: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.mergeAll();
      } catch (err) {
        this.#logger?.error('merge failed; retrying at the next interval', { error: (err as Error).message });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
      });
    }
  }

  /** Events of each object, objects in commit order. */
  async #read(objects: readonly CatalogObject[], t: TableRef): Promise<Array<[CatalogObject, ChangeEvent[]]>> {
    const out: Array<[CatalogObject, ChangeEvent[]]> = [];
    const schemas = new Map<number, TableSchema>();
    for (const o of [...objects].sort((a, b) => a.committedAt - b.committedAt)) {
      let schema = schemas.get(o.schemaVersion);
      if (schema === undefined) {
        schema = await loadSchema(this.#state, t, o.schemaVersion);
        if (schema === undefined) throw new MergeError(`change object ${o.key} was written with schema version ${o.schemaVersion} of ${tableId(t)}, which is not in the state store; merge with the pipeline's own state store.`, { key: o.key });
        schemas.set(o.schemaVersion, schema);
      }
      out.push([o, await readChangeObject(o, { lake: this.#lake, conn: this.#engine.connection, tmpDir: this.#tmpDir, table: t, schema })]);
    }
    return out;
  }
}

/** Catalog entries of change objects with their state-store keys, in key order. */
export async function changeEntries(state: StateStore): Promise<Array<{ readonly key: string; readonly object: CatalogObject }>> {
  return (await state.list('catalog/objects/')).map((e) => ({ key: e.key, object: e.value as unknown as CatalogObject })).filter((e) => e.object.kind === 'changes');
}

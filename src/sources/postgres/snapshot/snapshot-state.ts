/**
 * The snapshot's records in the state store, under `snapshots/<source>/`:
 *
 * - `snapshots/<source>/initial`                  `{ consistentLsn, startedAt }` once the first
 *   load is planned (its presence means "the initial load was set up", never plan it again);
 * - `snapshots/<source>/t/<schema.table>/plan`    {@link TablePlan}: the chunks of the table's
 *   current load (a re-snapshot replaces it with a new `id`);
 * - `snapshots/<source>/t/<schema.table>/chunk/<index 8 digits>`  {@link ChunkRecord}: the
 *   chunk's progress; `done` once every row it read is durable in the stream.
 *
 * A restart reads the plans and resumes at the first chunk that is not done. Table names are
 * URI-encoded in keys, so `public.t` and `public.t2` never share a prefix.
 */
import type { StateOp, StateStore, StateValue } from '../../../state/state-store.ts';
import type { Chunk } from './chunk-planner.ts';

/** One table's load. */
export interface TablePlan {
  /** Identifies this load (a re-snapshot starts a new one). */
  readonly id: string;
  readonly schema: string;
  readonly table: string;
  readonly by: 'key' | 'ctid';
  readonly chunks: readonly Chunk[];
  readonly estimatedRows: number;
  /** `initial` (inside the exported snapshot, then watermarks) or `resnapshot` (watermarks). */
  readonly reason: 'initial' | 'resnapshot' | 'only';
  readonly startedAt: string;
  /** LSN (16 hex digits) of the `hydrant.resnapshot` message that requested this load. */
  readonly request?: string | undefined;
  /** Planning failed (e.g. no SELECT privilege): no chunks yet, planned again with back-off. */
  readonly unplanned?: boolean;
}

/** Progress of one chunk. */
export interface ChunkRecord {
  readonly plan: string;
  readonly done: boolean;
  /** Rows of this chunk durable in the stream (all of them once done). */
  readonly rows: number;
  /** Rows superseded by changes between the watermarks (watermark reads only). */
  readonly superseded?: number;
}

const enc = (schema: string, table: string): string => encodeURIComponent(`${schema}.${table}`);

/** Key of the initial-load marker. */
export const initialKey = (source: string): string => `snapshots/${source}/initial`;
/** Prefix of every table record of a source. */
export const tablesPrefix = (source: string): string => `snapshots/${source}/t/`;
/** Key of a table's plan. */
export const planKey = (source: string, schema: string, table: string): string => `${tablesPrefix(source)}${enc(schema, table)}/plan`;
/** Key of one chunk's record. */
export const chunkKey = (source: string, schema: string, table: string, index: number): string => `${tablesPrefix(source)}${enc(schema, table)}/chunk/${String(index).padStart(8, '0')}`;

/** A plan with the progress of its chunks. */
export interface StoredTable {
  readonly plan: TablePlan;
  /** Chunk records of this plan by index. */
  readonly chunks: ReadonlyMap<number, ChunkRecord>;
}

/** Reads every table plan of a source with its chunk records. */
export async function loadTables(state: StateStore, source: string): Promise<StoredTable[]> {
  const entries = await state.list(tablesPrefix(source));
  const byTable = new Map<string, { plan?: TablePlan; chunks: Map<number, ChunkRecord> }>();
  for (const { key, value } of entries) {
    const rest = key.slice(tablesPrefix(source).length);
    const slash = rest.indexOf('/');
    const t = rest.slice(0, slash);
    const e = byTable.get(t) ?? { chunks: new Map<number, ChunkRecord>() };
    byTable.set(t, e);
    const tail = rest.slice(slash + 1);
    if (tail === 'plan') e.plan = value as unknown as TablePlan;
    else if (tail.startsWith('chunk/')) e.chunks.set(Number(tail.slice(6)), value as unknown as ChunkRecord);
  }
  const out: StoredTable[] = [];
  for (const e of byTable.values()) {
    if (e.plan === undefined) continue;
    const id = e.plan.id;
    out.push({ plan: e.plan, chunks: new Map([...e.chunks].filter(([, c]) => c.plan === id)) });
  }
  return out;
}

/** Ops that store a new plan and drop the chunk records of the table's previous plan. */
export async function replacePlanOps(state: StateStore, source: string, plan: TablePlan): Promise<StateOp[]> {
  const prefix = `${tablesPrefix(source)}${enc(plan.schema, plan.table)}/chunk/`;
  const old = await state.list(prefix);
  return [...old.map((o): StateOp => ({ type: 'delete', key: o.key })), { type: 'put', key: planKey(source, plan.schema, plan.table), value: plan as unknown as StateValue }];
}

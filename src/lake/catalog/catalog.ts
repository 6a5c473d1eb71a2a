/**
 * The lake catalog, kept in the state store next to the checkpoints so that registering an
 * object and advancing the delivery's checkpoint are one transaction.
 *
 * Keys:
 * - `catalog/objects/<delivery>/<shard>/<first sequence, 40 digits>-<kind>` → {@link CatalogObject}
 * - `catalog/tables/<table>/<schema version, 8 digits>` → {@link CatalogTableVersion}
 *
 * Tables are named `<source>.<schema>.<table>` for database changes (queried as
 * `<source>.<schema>.<table>_changes`) and `events.<source>` for events.
 */
import type { ColumnType } from '../../core/schema.ts';
import type { StateOp, StateStore, StateValue } from '../../state/state-store.ts';

/** What an object holds. */
export type ObjectKind = 'changes' | 'events' | 'errors';

/** One committed object. */
export interface CatalogObject {
  readonly key: string;
  readonly kind: ObjectKind;
  /** Catalog table name (see module doc); for errors the delivery's name. */
  readonly table: string;
  readonly delivery: string;
  readonly shard: string;
  /** Buffer identity (prefix + table + schema version): dedupes replays after a crash. */
  readonly buffer: string;
  /** Hash of the delivery's routing settings that produced `buffer` (`lake-routing/<delivery>/<hash>`). */
  readonly routing?: string;
  readonly partition: Readonly<Record<string, string>>;
  readonly schemaVersion: number;
  readonly format: string;
  readonly compression: string;
  /** CSV objects: whether the first line is a header (absent for other formats). */
  readonly csvHeader?: boolean;
  readonly rows: number;
  readonly bytes: number;
  readonly firstSequence: string;
  readonly lastSequence: string;
  /** Event-time range of the rows, epoch ms. */
  readonly minTime: number;
  readonly maxTime: number;
  /** When the object was committed, epoch ms. */
  readonly committedAt: number;
}

/** One schema version of a catalog table. */
export interface CatalogTableVersion {
  readonly table: string;
  readonly version: number;
  readonly columns: ReadonlyArray<{ readonly name: string; readonly type: ColumnType }>;
  /** Set when this version cannot be read together with the previous one (logged when registered). */
  readonly incompatibleWith?: number;
  readonly registeredAt: number;
}

/** Pads a decimal sequence so keys sort numerically. */
export function padSequence(seq: string): string {
  return seq.padStart(40, '0');
}

export function objectEntryKey(o: Pick<CatalogObject, 'delivery' | 'shard' | 'firstSequence' | 'kind'>): string {
  return `catalog/objects/${o.delivery}/${o.shard}/${padSequence(o.firstSequence)}-${o.kind}`;
}

export function tableVersionKey(table: string, version: number): string {
  return `catalog/tables/${table}/${String(version).padStart(8, '0')}`;
}

/** The op that registers an object. */
export function registerObject(o: CatalogObject): StateOp {
  return { type: 'put', key: objectEntryKey(o), value: o as unknown as StateValue };
}

/** Every committed object, optionally of one delivery and shard. */
export async function listObjects(store: StateStore, delivery?: string, shard?: string): Promise<CatalogObject[]> {
  const prefix = `catalog/objects/${delivery === undefined ? '' : `${delivery}/${shard === undefined ? '' : `${shard}/`}`}`;
  return (await store.list(prefix)).map((e) => e.value as unknown as CatalogObject);
}

/** Every schema version of every table (or of one table), in key order. */
export async function listTableVersions(store: StateStore, table?: string): Promise<CatalogTableVersion[]> {
  return (await store.list(`catalog/tables/${table === undefined ? '' : `${table}/`}`)).map((e) => e.value as unknown as CatalogTableVersion);
}

/** Widening conversions readers handle (DuckDB's union_by_name casts to the wider type). */
const WIDER: Record<string, readonly string[]> = {
  int16: ['int32', 'int64', 'float64', 'decimal'],
  int32: ['int64', 'float64', 'decimal'],
  int64: ['decimal'],
  float32: ['float64'],
  timestamp: ['timestamptz'],
  enum: ['string'],
  uuid: ['string'],
};

/**
 * Why `next` cannot be read together with `prev`, or undefined when it can: added and
 * dropped columns are fine (missing columns read as NULL), same or widened types are fine.
 */
export function incompatibility(prev: CatalogTableVersion['columns'], next: CatalogTableVersion['columns']): string | undefined {
  const before = new Map(prev.map((c) => [c.name, c.type]));
  for (const c of next) {
    const p = before.get(c.name);
    if (p === undefined || JSON.stringify(p) === JSON.stringify(c.type)) continue;
    if (p.kind === c.type.kind && p.kind === 'decimal') continue;
    if ((WIDER[p.kind] ?? []).includes(c.type.kind)) continue;
    return `column ${c.name} changed from ${p.kind} to ${c.type.kind}`;
  }
  return undefined;
}

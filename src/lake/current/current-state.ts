/**
 * The merge semantics of current-state tables as a pure, in-memory core: change events applied
 * in source-position order to a keyed set of rows. The storage side (Parquet files, manifests)
 * loads rows into a {@link CurrentState}, applies a batch and writes the result back; tests use
 * it as the reference replay.
 *
 * Rules, in the order they matter:
 * - Events are applied in `source.position` order (plain string comparison, stable for equal
 *   positions). Events at or below the table's high-water position were applied by an earlier
 *   merge and are skipped, so applying the same changes twice is a no-op.
 * - `insert` and `snapshot` upsert the `after` row: a re-snapshot overwrites instead of
 *   duplicating, and an insert of a key that a snapshot already holds is not a duplicate.
 * - `update` replaces the row; when the `before` image carries a key that differs from `key`,
 *   the row moves (old key removed). Columns named in `unchanged` (TOAST) keep the previous
 *   row's value.
 * - A primary-key change may also arrive as `delete` + `insert` in one transaction (the
 *   PostgreSQL source does this); an `insert` that lists `unchanged` columns takes them from
 *   the row that the directly preceding delete of the same transaction removed (same `txId`,
 *   or without one, the same commit time: see {@link sameTransaction}).
 * - `delete` removes the row with `key` (or the key in `before`); an absent row is no error.
 * - `truncate` empties the table.
 */
import type { ChangeEvent } from '../../core/change-event.ts';
import type { Row } from '../../core/values.ts';
import { MergeError } from './errors.ts';
import { hasKey, keyString } from './row-key.ts';

/** What one {@link CurrentState.apply} did. */
export interface ApplyStats {
  /** Events applied. */
  applied: number;
  /** Events at or below the high-water position (already merged). */
  skipped: number;
  /** Truncates applied. */
  truncates: number;
  /** `unchanged` columns with no previous row to take a value from (set to null). */
  missingPrevious: number;
}

/** Events above `highWater`, stably sorted by position. */
export function orderChanges(events: readonly ChangeEvent[], highWater: string | undefined): { ordered: ChangeEvent[]; skipped: number } {
  const ordered = highWater === undefined ? [...events] : events.filter((e) => e.source.position > highWater);
  // Array.prototype.sort is stable, so equal positions keep their input (stream) order.
  ordered.sort((a, b) => (a.source.position < b.source.position ? -1 : a.source.position > b.source.position ? 1 : 0));
  return { ordered, skipped: events.length - ordered.length };
}

/** A keyed table state that change events are applied to. */
export class CurrentState {
  /** Table id, for error messages. */
  readonly table: string;
  /** Primary-key columns in key order. */
  readonly primaryKey: readonly string[];
  readonly #rows = new Map<string, Row>();
  #highWater: string | undefined;
  /** The row removed by the last applied event when it was a delete (for delete + insert key changes). */
  #justDeleted: { readonly event: ChangeEvent; readonly row: Row } | undefined;

  constructor(options: { readonly table: string; readonly primaryKey: readonly string[]; readonly highWater?: string | undefined; readonly rows?: Iterable<Row> }) {
    if (options.primaryKey.length === 0) {
      throw new MergeError(`table ${options.table} has no primary key, so its changes cannot be merged into a current-state table; add a primary key (or a replica identity) to the source table, or read its history in ${options.table}_changes.`, { table: options.table });
    }
    this.table = options.table;
    this.primaryKey = options.primaryKey;
    this.#highWater = options.highWater;
    for (const r of options.rows ?? []) this.#rows.set(keyString(r, this.primaryKey, this.table), r);
  }

  /** Position of the newest applied event, or undefined before the first. */
  get highWater(): string | undefined {
    return this.#highWater;
  }

  /** Number of rows. */
  get size(): number {
    return this.#rows.size;
  }

  /** Rows with their key strings, in no particular order. */
  entries(): IterableIterator<[string, Row]> {
    return this.#rows.entries();
  }

  /** The row with this key (only key columns are read), or undefined. */
  get(key: Row): Row | undefined {
    return this.#rows.get(keyString(key, this.primaryKey, this.table));
  }

  /** Applies a batch: skips what is at or below the high-water position, orders the rest. */
  apply(events: readonly ChangeEvent[]): ApplyStats {
    const { ordered, skipped } = orderChanges(events, this.#highWater);
    const stats: ApplyStats = { applied: 0, skipped, truncates: 0, missingPrevious: 0 };
    for (const e of ordered) this.applyOrdered(e, stats);
    return stats;
  }

  /**
   * Applies one event that the caller has already ordered and filtered (see
   * {@link orderChanges}); the storage engine uses this to apply one batch to several
   * partial states.
   */
  applyOrdered(e: ChangeEvent, stats: ApplyStats): void {
    stats.applied++;
    const justDeleted = this.#justDeleted;
    this.#justDeleted = undefined;
    if (this.#highWater === undefined || e.source.position > this.#highWater) this.#highWater = e.source.position;
    switch (e.op) {
      case 'truncate':
        this.#rows.clear();
        stats.truncates++;
        return;
      case 'insert':
      case 'snapshot': {
        const after = this.#image(e, 'after');
        const key = keyString(after, this.primaryKey, this.table);
        const row: Row = { ...after };
        if (e.unchanged !== undefined && e.unchanged.length > 0) {
          const prev = this.#rows.get(key) ?? (justDeleted !== undefined && sameTransaction(justDeleted.event, e) ? justDeleted.row : undefined);
          fillUnchanged(row, e.unchanged, prev, stats);
        }
        this.#rows.set(key, row);
        return;
      }
      case 'delete': {
        const key = this.#keyOf(e);
        const row = this.#rows.get(key);
        if (row !== undefined) {
          this.#rows.delete(key);
          this.#justDeleted = { event: e, row };
        }
        return;
      }
      case 'update': {
        const after = this.#image(e, 'after');
        const key = keyString(hasKey(e.key, this.primaryKey) ? e.key : after, this.primaryKey, this.table);
        const oldKey = hasKey(e.before, this.primaryKey) ? keyString(e.before, this.primaryKey, this.table) : key;
        const prev = this.#rows.get(oldKey);
        if (oldKey !== key) this.#rows.delete(oldKey);
        const row: Row = { ...after };
        fillUnchanged(row, e.unchanged ?? [], prev, stats);
        this.#rows.set(key, row);
        return;
      }
    }
  }

  #image(e: ChangeEvent, which: 'after'): Row {
    const r = e[which];
    if (r === null) {
      throw new MergeError(`${e.op} at position ${e.source.position} of table ${this.table} has no ${which} row; the source must send the new row for inserts, updates and snapshot rows.`, { table: this.table, position: e.source.position });
    }
    return r;
  }

  #keyOf(e: ChangeEvent): string {
    if (hasKey(e.key, this.primaryKey)) return keyString(e.key, this.primaryKey, this.table);
    if (hasKey(e.before, this.primaryKey)) return keyString(e.before, this.primaryKey, this.table);
    throw new MergeError(`${e.op} at position ${e.source.position} of table ${this.table} carries no primary key (${this.primaryKey.join(', ')}); the source must send the key of deleted rows.`, { table: this.table, position: e.source.position });
  }
}

/**
 * Whether two changes belong to one source transaction: by `txId` when the source sent one,
 * otherwise (change objects do not carry it) by commit time, which all changes of one
 * transaction share. Adjacency in a merge batch alone is not enough: with a sharded stream,
 * a change between them may not have arrived yet.
 */
export function sameTransaction(a: ChangeEvent, b: ChangeEvent): boolean {
  if (a.source.txId !== undefined || b.source.txId !== undefined) return a.source.txId === b.source.txId;
  return a.source.commitTime.toISOString() === b.source.commitTime.toISOString();
}

/** Gives `unchanged` columns the previous row's values (null, counted, when there is none). */
function fillUnchanged(row: Row, unchanged: readonly string[], prev: Row | undefined, stats: ApplyStats): void {
  for (const c of unchanged) {
    if (prev !== undefined && Object.hasOwn(prev, c)) row[c] = prev[c] ?? null;
    else {
      row[c] = null;
      stats.missingPrevious++;
    }
  }
}

/** Helpers to rewrite the rows of an envelope without touching anything else. */
import type { ChangeEvent, Envelope } from '../../core/change-event.ts';
import type { Row, Value } from '../../core/values.ts';

/** Which row of a change event a function is applied to. */
export type RowRole = 'key' | 'before' | 'after';

/**
 * Returns a copy of a change event with `fn` applied to its key, before and after rows.
 * `renameUnchanged` maps each TOAST-unchanged column name to its new name, or null to drop it.
 */
export function mapChangeRows(e: ChangeEvent, fn: (row: Row, role: RowRole) => Row, renameUnchanged?: (column: string) => string | null): ChangeEvent {
  const out: ChangeEvent = {
    ...e,
    key: fn(e.key, 'key'),
    before: e.before === null ? null : fn(e.before, 'before'),
    after: e.after === null ? null : fn(e.after, 'after'),
  };
  if (e.unchanged === undefined || renameUnchanged === undefined) return out;
  const kept: string[] = [];
  for (const c of e.unchanged) {
    const n = renameUnchanged(c);
    if (n !== null) kept.push(n);
  }
  return { ...out, unchanged: kept };
}

/** true when a value is a plain object (a nested document), not a typed value or an array. */
export function isPlainObject(v: Value | undefined): v is { readonly [key: string]: Value } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** The row an envelope is "about": after for inserts and updates, before for deletes, a log event's data when it is an object. */
export function primaryRow(e: Envelope): Row | null {
  if (e.op === 'event') return isPlainObject(e.data) ? (e.data as Row) : null;
  return e.after ?? e.before;
}

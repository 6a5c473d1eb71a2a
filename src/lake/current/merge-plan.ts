/**
 * Plans a copy-on-write merge: which key buckets a batch of changes touches, and which buckets
 * must be merged together because a primary-key change moves a row from one bucket to another
 * (the new row needs the old row's TOAST values). Only touched buckets are rewritten; each
 * group is loaded, merged and written on its own, so memory follows the largest group, not
 * the table.
 */
import type { ChangeEvent } from '../../core/change-event.ts';
import { bucketOf, hasKey, keyString } from './row-key.ts';
import { MergeError } from './errors.ts';

/** Buckets merged together and the changes that touch them, in position order. */
export interface MergeGroup {
  readonly buckets: readonly number[];
  readonly events: readonly ChangeEvent[];
  /** Key string each event lands on (`row-key.ts`), parallel to `events`. */
  readonly keys: readonly string[];
  /**
   * true when every change replaces or removes a whole row (no TOAST-unchanged columns, no
   * key moved by an update): the group's result is "latest change per key", which the engine
   * computes in SQL without loading the bucket files into JavaScript.
   */
  readonly wholeRows: boolean;
}

/** The plan for one batch of ordered changes. */
export interface MergePlan {
  /** A truncate in the batch: every existing file is dropped, only changes after the last truncate are applied. */
  readonly truncated: boolean;
  /** Changes before the last truncate (they only affect rows the truncate removes). */
  readonly discarded: number;
  readonly groups: readonly MergeGroup[];
}

/** Plans the merge of `ordered` (already sorted and above the high-water mark). */
export function planMerge(ordered: readonly ChangeEvent[], primaryKey: readonly string[], buckets: number, table: string): MergePlan {
  let last = -1;
  for (let i = ordered.length - 1; i >= 0; i--) {
    if ((ordered[i] as ChangeEvent).op === 'truncate') {
      last = i;
      break;
    }
  }
  const events = ordered.slice(last + 1);
  const parent = new Map<number, number>();
  const find = (b: number): number => {
    let r = b;
    while (parent.get(r) !== r) r = parent.get(r) as number;
    parent.set(b, r);
    return r;
  };
  const add = (b: number): number => {
    if (!parent.has(b)) parent.set(b, b);
    return find(b);
  };
  const home: number[] = [];
  const keys: string[] = [];
  const union = (a: number, b: number): void => {
    const ra = add(a);
    const rb = add(b);
    if (ra !== rb) parent.set(ra, rb);
  };
  events.forEach((e, i) => {
    const k = keyOfEvent(e, primaryKey, table);
    const b = bucketOf(k, buckets);
    keys.push(k);
    home.push(b);
    add(b);
    if (e.op === 'update' && hasKey(e.before, primaryKey)) union(bucketOf(keyString(e.before, primaryKey, table), buckets), b);
    // A key change sent as delete + insert: the insert's TOAST values come from the deleted row.
    const prev = events[i - 1];
    if (e.op === 'insert' && (e.unchanged?.length ?? 0) > 0 && prev !== undefined && prev.op === 'delete') union(home[i - 1] as number, b);
  });
  const byRoot = new Map<number, { buckets: number[]; events: ChangeEvent[]; keys: string[]; wholeRows: boolean }>();
  for (const b of parent.keys()) {
    const r = find(b);
    let g = byRoot.get(r);
    if (g === undefined) byRoot.set(r, (g = { buckets: [], events: [], keys: [], wholeRows: true }));
    g.buckets.push(b);
  }
  events.forEach((e, i) => {
    const g = byRoot.get(find(home[i] as number));
    if (g === undefined) return;
    g.events.push(e);
    g.keys.push(keys[i] as string);
    if ((e.unchanged?.length ?? 0) > 0 || (e.op === 'update' && hasKey(e.before, primaryKey) && keyString(e.before, primaryKey, table) !== keys[i])) g.wholeRows = false;
  });
  const groups = [...byRoot.values()].map((g) => ({ ...g, buckets: g.buckets.sort((a, b) => a - b) }));
  groups.sort((a, b) => (a.buckets[0] as number) - (b.buckets[0] as number));
  return { truncated: last >= 0, discarded: last + 1, groups };
}

/** The key a change lands on: `key` (the new key for updates), else `after`, else `before`. */
function keyOfEvent(e: ChangeEvent, primaryKey: readonly string[], table: string): string {
  // Same precedence as CurrentState: inserts by their new row, updates by key, deletes by key or before.
  const order = e.op === 'insert' || e.op === 'snapshot' ? [e.after] : e.op === 'update' ? [e.key, e.after] : [e.key, e.before];
  for (const r of order) if (hasKey(r, primaryKey)) return keyString(r, primaryKey, table);
  throw new MergeError(`${e.op} at position ${e.source.position} of table ${table} carries no primary key (${primaryKey.join(', ')}); the source must send key columns with every row change.`, { table, position: e.source.position });
}

/**
 * Per-shard high-water marks of a current-state table, and the rule that decides when a change
 * object is truly late (its changes cannot be applied on top of the table) so the table must be
 * rebuilt from its history.
 *
 * Why per shard: the stream's partition key is table + primary key, so all changes of one key
 * go to one shard, in order. Merging needs per-key order only, so an object is late only when
 * it holds a change at or below the newest position already merged **from its own shard**; a
 * lagging shard's object with positions below another shard's changes is not late (its keys
 * never appear on the other shard). The table-wide high water is kept, for three cases where
 * one shard's changes do depend on another's:
 *
 * - Reshards: a key moves from a parent shard to a child. Every change on a child has a
 *   position above every change on its parents (the source appends in position order, readers
 *   drain parents first), so an object whose newest change is below the oldest merged change of
 *   another shard may be a parent's straggler: late (conservative: it may also be an unrelated
 *   shard whose first object came after the other's first change; then it costs one rebuild).
 * - Truncates: a truncate at T (on one shard) empties the table as of T. A truncate below the
 *   table-wide high water would have to keep other shards' newer rows, which the bucket files
 *   cannot tell apart (they do not store per-row positions): late. Changes at or below the last
 *   merged truncate, arriving later from a lagging shard, are dropped (the truncate removed
 *   their rows; the key's later changes are on the same shard, after them).
 * - Key changes: an update whose `before` carries another key moves the row from that key, and
 *   an insert sent with a delete (PostgreSQL) that lists TOAST-unchanged columns takes them from
 *   the deleted row; the other key may live on another shard. See {@link crossShardChanges}:
 *   such a change forces a rebuild when the other key's changes may already be merged, and its
 *   position is remembered ({@link TableMarks.crossShard}) so that an older object arriving
 *   later (which may hold the other key's earlier changes) forces one too.
 */
import type { ChangeEvent } from '../../core/change-event.ts';
import type { CatalogObject } from '../catalog/catalog.ts';
import type { Manifest } from './manifest.ts';
import { hasKey, keyString } from './row-key.ts';
import { sameTransaction } from './current-state.ts';

/** Oldest and newest position merged from one shard. */
export interface ShardMark {
  readonly low: string;
  readonly high: string;
}

/** The marks a manifest keeps (field `marks`, absent in manifests written before them). */
export interface TableMarks {
  /** Stream shard id → positions merged from that shard. */
  readonly shards: Readonly<Record<string, ShardMark>>;
  /** Position of the newest merged truncate, or null. */
  readonly truncatedAt: string | null;
  /**
   * Newest merged change that depends on another key's changes (see {@link crossShardChanges}),
   * or null: a later object with older changes may hold that key's changes, so it is late.
   */
  readonly crossShard: string | null;
}

/** Positions of one change object (or of one object's part of a merge). */
export interface ObjectRange {
  readonly shard: string;
  /** Oldest and newest position in the object; null when it holds no change. */
  readonly low: string | null;
  readonly high: string | null;
  /** Newest truncate in the object, or null. */
  readonly truncate: string | null;
}

/** Marks of a table before its first merge. */
export const NO_MARKS: TableMarks = { shards: {}, truncatedAt: null, crossShard: null };

/**
 * The mark an object counts against: its stream shard. Not per delivery: two deliveries that
 * write the same table carry the same keys, so one's objects must count as late against the
 * other's (a rebuild, correct), never be applied on top of newer changes of the same key.
 */
export function shardOf(o: Pick<CatalogObject, 'shard'>): string {
  return o.shard;
}

/** The later of two positions (null is none). */
export const newest = (a: string | null, b: string | null): string | null => (a === null ? b : b === null ? a : a > b ? a : b);
const min = (a: string | null, b: string | null): string | null => (a === null ? b : b === null ? a : a < b ? a : b);

/**
 * Why the pending objects cannot be merged on top of `head` (so the table must be rebuilt),
 * or undefined when they can. `head` undefined is the empty table.
 */
export function lateReason(head: Manifest | undefined, pending: readonly ObjectRange[]): string | undefined {
  if (head === undefined || head.highWater === null) return undefined;
  const marks = head.marks;
  for (const o of pending) {
    if (o.low === null || o.high === null) continue;
    // A manifest from before per-shard marks: the table-wide check (the old rule), once.
    if (marks === undefined) {
      if (o.low <= head.highWater) return `an object of ${o.shard} holds changes at or below the table's high water ${head.highWater} (manifest without per-shard marks)`;
      continue;
    }
    const own = marks.shards[o.shard];
    if (own !== undefined && o.low <= own.high) return `an object of ${o.shard} holds changes at or below that shard's high water ${own.high}`;
    for (const [shard, m] of Object.entries(marks.shards)) {
      if (shard !== o.shard && o.high < m.low) return `an object of ${o.shard} ends before the oldest merged change of ${shard} (a straggler from before a reshard?)`;
    }
    if (o.truncate !== null && o.truncate <= head.highWater) return `a truncate of ${o.shard} at ${o.truncate} is older than changes already merged (high water ${head.highWater})`;
    if (marks.crossShard !== null && o.low < marks.crossShard) return `an object of ${o.shard} may hold changes of a key that the change merged at ${marks.crossShard} depends on`;
  }
  return undefined;
}

/**
 * The marks after merging `ranges` on top of `prev` (a rebuild passes NO_MARKS and every
 * object). `crossShard` is the newest change of this merge that depends on another key's.
 */
export function advanceMarks(prev: TableMarks, ranges: readonly ObjectRange[], crossShard: string | null): TableMarks {
  const shards: Record<string, ShardMark> = { ...prev.shards };
  let truncatedAt = prev.truncatedAt;
  for (const r of ranges) {
    if (r.low === null || r.high === null) continue;
    const m = shards[r.shard];
    shards[r.shard] = { low: min(m?.low ?? null, r.low) as string, high: newest(m?.high ?? null, r.high) as string };
    truncatedAt = newest(truncatedAt, r.truncate);
  }
  // Never cleared: once every shard is past it, it only catches objects that are late anyway
  // or come from a shard not merged before (which may be the other key's, so rebuilding is right).
  return { shards, truncatedAt, crossShard: newest(prev.crossShard, crossShard) };
}

/**
 * The marks to merge on top of: the head's, or — for a manifest from before per-shard marks —
 * every shard that has merged objects at the table-wide high water (conservative: it can cost
 * one rebuild, never a wrong merge).
 */
export function startingMarks(head: Manifest | undefined, mergedShards: Iterable<string>): TableMarks {
  if (head === undefined) return NO_MARKS;
  if (head.marks !== undefined) return head.marks;
  if (head.highWater === null) return NO_MARKS;
  const shards: Record<string, ShardMark> = {};
  for (const s of mergedShards) shards[s] = { low: '', high: head.highWater };
  return { shards, truncatedAt: null, crossShard: null };
}

/** Changes at or below this position are dropped from a merge that is not a rebuild. */
export function dropAtOrBelow(head: Manifest | undefined): string | null {
  if (head === undefined) return null;
  return head.marks === undefined ? head.highWater : head.marks.truncatedAt;
}

/** Changes of a merge batch that depend on changes of another key, so possibly of another shard. */
export interface CrossShardChanges {
  /** Newest insert that needs TOAST values from a delete that is not right before it, or null. */
  readonly orphan: string | null;
  /** Oldest and newest update that moved a row from another key, or null. */
  readonly firstMove: string | null;
  readonly lastMove: string | null;
}

/**
 * Finds the changes of `ordered` (sorted by position) whose effect depends on another key's
 * row: key-change inserts listing `unchanged` columns (only those do — a plain insert sends the
 * whole row — and the merge core takes the values from the row the directly preceding delete of
 * the same transaction removed), and updates whose `before` carries another key (the row moves
 * from that key).
 */
export function crossShardChanges(ordered: readonly ChangeEvent[], primaryKey: readonly string[], table: string): CrossShardChanges {
  let orphan: string | null = null;
  let firstMove: string | null = null;
  let lastMove: string | null = null;
  ordered.forEach((e, i) => {
    const p = e.source.position;
    if (e.op === 'insert' && (e.unchanged?.length ?? 0) > 0) {
      const prev = ordered[i - 1];
      if (prev === undefined || prev.op !== 'delete' || !sameTransaction(prev, e)) orphan = newest(orphan, p);
    }
    if (e.op === 'update' && primaryKey.length > 0 && hasKey(e.before, primaryKey) && hasKey(e.key, primaryKey) && keyString(e.before, primaryKey, table) !== keyString(e.key, primaryKey, table)) {
      firstMove = min(firstMove, p);
      lastMove = newest(lastMove, p);
    }
  });
  return { orphan, firstMove, lastMove };
}

/**
 * Why the cross-shard changes of a batch that is otherwise not late cannot be merged on top of
 * `head`, or undefined. An orphan insert's delete may have been merged already (its row is
 * gone); a moved row's old key may have newer changes merged already (a re-insert the move
 * must not remove). Old-key changes that are merely behind are caught later by the mark.
 */
export function crossShardReason(head: Manifest | undefined, c: CrossShardChanges): string | undefined {
  if (head === undefined || head.highWater === null) return undefined;
  if (c.orphan !== null) return `the insert at ${c.orphan} of a key change needs TOAST values from a delete merged separately`;
  if (c.firstMove !== null && head.highWater > c.firstMove) return `an update at ${c.firstMove} moves a row between keys, and newer changes were already merged`;
  return undefined;
}

/** The range of one object's events. */
export function rangeOfEvents(shard: string, events: readonly ChangeEvent[]): ObjectRange {
  let low: string | null = null;
  let high: string | null = null;
  let truncate: string | null = null;
  for (const e of events) {
    const p = e.source.position;
    low = min(low, p);
    high = newest(high, p);
    if (e.op === 'truncate') truncate = newest(truncate, p);
  }
  return { shard, low, high, truncate };
}

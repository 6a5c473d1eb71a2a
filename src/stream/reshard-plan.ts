/**
 * Pure planning of shard splits, merges and re-sharding on a stream's layout (Kinesis rules):
 * the affected open shards close, children take over their hash ranges and list them as
 * parents. Every key maps to exactly one parent and one child, so a reader that drains the
 * parents before the children sees each key's records in order.
 */
import { HydrantError } from '../core/errors.ts';
import { evenRanges, parseHashKey, rangesOverlap, type HashKeyRange } from './hash-key.ts';

/** The part of a shard layout a plan needs. */
export interface PlanShard {
  readonly shardId: string;
  readonly start: string;
  readonly end: string;
  readonly closed: boolean;
}

/** Shards to close and children to open (ids assigned by the caller). */
export interface ReshardPlan {
  readonly close: readonly string[];
  readonly children: ReadonlyArray<{ readonly range: HashKeyRange; readonly parentShardIds: readonly string[] }>;
}

/** A split, merge or reshard request that does not fit the stream's layout. */
export class ReshardError extends HydrantError {
  constructor(message: string) {
    super('RESHARD_INVALID', message);
  }
}

function rangeOf(s: PlanShard): HashKeyRange {
  return { start: BigInt(s.start), end: BigInt(s.end) };
}

function openShard(shards: readonly PlanShard[], id: string, stream: string): PlanShard {
  const s = shards.find((x) => x.shardId === id);
  if (s === undefined) throw new ReshardError(`stream ${stream} has no shard ${id}; run \`hydrant stream describe\` for its shard ids.`);
  if (s.closed) throw new ReshardError(`shard ${id} of stream ${stream} is closed (already split or merged); pick an open shard.`);
  return s;
}

/** Splits one open shard at `newStartingHashKey` (decimal; becomes the second child's start). */
export function planSplit(stream: string, shards: readonly PlanShard[], shardId: string, newStartingHashKey: string): ReshardPlan {
  const s = openShard(shards, shardId, stream);
  const r = rangeOf(s);
  const at = parseHashKey(newStartingHashKey);
  if (at <= r.start || at > r.end) throw new ReshardError(`split point ${newStartingHashKey} must lie inside shard ${shardId}'s range (${s.start}, ${s.end}]`);
  return { close: [shardId], children: [{ range: { start: r.start, end: at - 1n }, parentShardIds: [shardId] }, { range: { start: at, end: r.end }, parentShardIds: [shardId] }] };
}

/** Merges two open shards with adjacent hash ranges into one child. */
export function planMerge(stream: string, shards: readonly PlanShard[], shardId: string, adjacentShardId: string): ReshardPlan {
  const a = rangeOf(openShard(shards, shardId, stream));
  const b = rangeOf(openShard(shards, adjacentShardId, stream));
  const [lo, hi] = a.start < b.start ? [a, b] : [b, a];
  if (lo.end + 1n !== hi.start) throw new ReshardError(`shards ${shardId} and ${adjacentShardId} of stream ${stream} are not adjacent in the hash-key space; only neighbours can merge.`);
  return { close: [shardId, adjacentShardId], children: [{ range: { start: lo.start, end: hi.end }, parentShardIds: [shardId, adjacentShardId] }] };
}

/**
 * Replaces every open shard by `count` shards with even ranges; each child's parents are the
 * old open shards its range overlaps.
 */
export function planReshard(stream: string, shards: readonly PlanShard[], count: number): ReshardPlan {
  if (!Number.isInteger(count) || count < 1 || count > 10_000) throw new ReshardError(`shard count for stream ${stream} must be an integer in 1..10000, got ${count}`);
  const open = shards.filter((s) => !s.closed);
  return {
    close: open.map((s) => s.shardId),
    children: evenRanges(count).map((range) => ({ range, parentShardIds: open.filter((s) => rangesOverlap(rangeOf(s), range)).map((s) => s.shardId) })),
  };
}

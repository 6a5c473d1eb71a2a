/**
 * Which shards a consumer may read now, so per-key order holds across splits and merges: a
 * child becomes readable only after every parent still in the description was read to its
 * end (`ended` checkpoint). Parents no longer described (trimmed) do not block.
 */
import type { Checkpoint } from './consumer-checkpoints.ts';
import type { StreamDescription } from './stream-log.ts';

/** Shard ids readable now, in description order; shards already ended are left out. */
export function readableShards(description: StreamDescription, checkpoints: ReadonlyMap<string, Checkpoint>): string[] {
  const known = new Set(description.shards.map((s) => s.shardId));
  const ended = (id: string): boolean => checkpoints.get(id)?.ended === true;
  return description.shards
    .filter((s) => !ended(s.shardId) && s.parentShardIds.every((p) => !known.has(p) || ended(p)))
    .map((s) => s.shardId);
}

/**
 * Which shards a consumer may read now, so per-key order holds across splits and merges: a
 * child becomes readable only after every parent still in the description was read to its
 * end. Parents no longer described (trimmed away) do not block.
 */
import type { StreamDescription } from './stream-log.ts';

/**
 * Shard ids readable now, in description order. `ended` holds the closed shards the consumer
 * has read to their end (see `endedShards` in consumer-checkpoints.ts); those are left out.
 */
export function readableShards(description: StreamDescription, ended: ReadonlySet<string>): string[] {
  const known = new Set(description.shards.map((s) => s.shardId));
  return description.shards
    .filter((s) => !ended.has(s.shardId) && s.parentShardIds.every((p) => !known.has(p) || ended.has(p)))
    .map((s) => s.shardId);
}

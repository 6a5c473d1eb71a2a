/**
 * The runner's state-store keys (see src/state/state-store.ts for the shared conventions).
 */

/** Last durable position of a source (a string in the source's own ordered format). */
export function sourcePositionKey(source: string): string {
  return `sources/${source}/position`;
}

/**
 * Per-shard sequences of the source's stream as of the last position commit
 * (`{ [shardId]: sequence }`). Recovery reads every shard after these sequences to find records
 * that were appended but whose position was never committed.
 */
export function sourceShardsKey(source: string): string {
  return `sources/${source}/shards`;
}

/** A delivery's consumer checkpoint on one shard (a sequence). */
export function consumerCheckpointKey(stream: string, consumer: string, shardId: string): string {
  return `consumers/${stream}/${consumer}/${shardId}`;
}

/**
 * A source's own (unmapped) schema of a table, as the source emitted it: `schemaKey` of the
 * table under `source-schemas/` instead of `schemas/`. `schemas/` holds the schema mapped
 * through the source-edge transforms (what the stream holds); sources read their own version
 * history here (see source-state-view.ts).
 */
export function sourceSchemaKey(schemaStateKey: string): string {
  return `source-${schemaStateKey}`;
}

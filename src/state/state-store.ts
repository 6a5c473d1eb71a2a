/**
 * The state store holds checkpoints, source positions, the lake catalog, schema versions and
 * (later) leases. Values are JSON. Multi-key updates are atomic, so a delivery commits a
 * catalog entry and its checkpoint in one transaction.
 *
 * Implementations: `embedded/` (files under data_dir, the default); PostgreSQL later. Both
 * must pass `test/state/state-store-conformance.ts`.
 *
 * Key conventions (slash separated, listed by prefix in key order):
 * - `sources/<source>/position`            last durable source position
 * - `consumers/<stream>/<consumer>/<shard>` consumer checkpoint (sequence)
 * - `schemas/<source>.<schema>.<table>/<version 8 digits>`
 *   (what the stream holds: the source's schema mapped through its edge's transforms)
 * - `source-schemas/<source>.<schema>.<table>/<version 8 digits>` the source's own schema (runner)
 * - `catalog/...`, `intents/...`            owned by the lake delivery
 */
export type StateValue = null | boolean | number | string | StateValue[] | { [key: string]: StateValue };

/** One write of a transaction. */
export type StateOp =
  | { readonly type: 'put'; readonly key: string; readonly value: StateValue }
  | { readonly type: 'delete'; readonly key: string };

/** A precondition: the key's current value must deep-equal `equals` (undefined = absent). */
export interface StateCondition {
  readonly key: string;
  readonly equals: StateValue | undefined;
}

export interface StateStore {
  /** The value of a key, or undefined. */
  get(key: string): Promise<StateValue | undefined>;
  /** All entries whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<Array<{ key: string; value: StateValue }>>;
  /**
   * Applies every op atomically and durably (fsync'd before it resolves). When a condition
   * does not hold nothing is applied and a `StateConflictError` is thrown.
   */
  commit(ops: readonly StateOp[], conditions?: readonly StateCondition[]): Promise<void>;
  close(): Promise<void>;
}

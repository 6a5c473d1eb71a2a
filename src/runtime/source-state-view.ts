/**
 * The state store as a source sees it. Sources keep their table-schema version history in the
 * state store (the PostgreSQL source reads the newest version of a table and emits a new one
 * when its columns differ). The runner records under `schemas/` the schema mapped through the
 * source-edge transforms, which differs from the source's own when transforms reshape rows,
 * and lives under another table name after a `rename`. So reads of `schemas/...` through this
 * view return the source's own schemas, kept under `source-schemas/...` (recorded by the
 * source loop beside the mapped ones); everything else passes through.
 *
 * Data dirs written before the split hold only `schemas/`, which then were the source's own
 * schemas: a read that finds nothing under `source-schemas/` falls back to them.
 */
import type { StateCondition, StateOp, StateStore, StateValue } from '../state/state-store.ts';
import { sourceSchemaKey } from './state-keys.ts';

const SCHEMAS = 'schemas/';

/** A {@link StateStore} whose `schemas/` reads return the source's own schemas. */
export class SourceStateView implements StateStore {
  readonly #inner: StateStore;

  constructor(inner: StateStore) {
    this.#inner = inner;
  }

  async get(key: string): Promise<StateValue | undefined> {
    if (!key.startsWith(SCHEMAS)) return this.#inner.get(key);
    return (await this.#inner.get(sourceSchemaKey(key))) ?? this.#inner.get(key);
  }

  async list(prefix: string): Promise<Array<{ key: string; value: StateValue }>> {
    if (!prefix.startsWith(SCHEMAS)) return this.#inner.list(prefix);
    const own = await this.#inner.list(sourceSchemaKey(prefix));
    if (own.length === 0) return this.#inner.list(prefix);
    const cut = sourceSchemaKey('').length;
    return own.map((e) => ({ key: e.key.slice(cut), value: e.value }));
  }

  commit(ops: readonly StateOp[], conditions?: readonly StateCondition[]): Promise<void> {
    return this.#inner.commit(ops, conditions);
  }

  /** The runner owns the store: closing a view does nothing. */
  async close(): Promise<void> {}
}

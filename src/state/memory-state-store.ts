/**
 * An in-memory {@link StateStore} for unit tests of components that only need the interface.
 * Not durable. Integration tests use the embedded store.
 */
import type { StateCondition, StateOp, StateStore, StateValue } from './state-store.ts';
import { StateConflictError } from './errors.ts';
import { assertValidOps, stateValueEquals } from './state-value.ts';

// Re-exported so existing imports from this module keep working; the class lives in errors.ts.
export { StateConflictError } from './errors.ts';

export class MemoryStateStore implements StateStore {
  readonly #map = new Map<string, string>();

  async get(key: string): Promise<StateValue | undefined> {
    const v = this.#map.get(key);
    return v === undefined ? undefined : (JSON.parse(v) as StateValue);
  }

  async list(prefix: string): Promise<Array<{ key: string; value: StateValue }>> {
    return [...this.#map.keys()]
      .filter((k) => k.startsWith(prefix))
      .sort()
      .map((key) => ({ key, value: JSON.parse(this.#map.get(key) as string) as StateValue }));
  }

  async commit(ops: readonly StateOp[], conditions: readonly StateCondition[] = []): Promise<void> {
    assertValidOps(ops);
    for (const c of conditions) {
      const cur = this.#map.get(c.key);
      if (!stateValueEquals(cur === undefined ? undefined : (JSON.parse(cur) as StateValue), c.equals)) throw new StateConflictError(c.key);
    }
    for (const op of ops) {
      if (op.type === 'put') this.#map.set(op.key, JSON.stringify(op.value));
      else this.#map.delete(op.key);
    }
  }

  async close(): Promise<void> {}
}

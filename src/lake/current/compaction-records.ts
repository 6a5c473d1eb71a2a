/**
 * Records of change-object compaction that the merge job needs: which catalog entries a
 * compacted object replaced. Kept at `current/<table>/compacted/<entry key of the new object>`
 * → `{ "from": [entry keys] }`, written in the same transaction that swaps the catalog entries.
 */
import type { StateStore } from '../../state/state-store.ts';

/** State-store key prefix of a table's compaction records (`id` is `source.schema.table`). */
export function compactedPrefix(id: string): string {
  return `current/${id}/compacted/`;
}

/** Compacted entry key → the entry keys it replaced. */
export async function compactedSources(state: StateStore, id: string): Promise<Map<string, readonly string[]>> {
  const p = compactedPrefix(id);
  return new Map((await state.list(p)).map((e) => [e.key.slice(p.length), (e.value as { from: string[] }).from]));
}

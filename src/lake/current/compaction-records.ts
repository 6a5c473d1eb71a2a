/**
 * Records of change-object compaction that the merge job needs: which catalog entries a
 * compacted object replaced. Kept at `current/<table>/compacted/<entry key of the new object>`
 * → `{ "from": [entry keys] }`, written in the same transaction that swaps the catalog entries.
 */
import { tableId } from '../../core/schema.ts';
import type { StateStore } from '../../state/state-store.ts';
import type { TableRef } from './manifest.ts';

/** State-store key prefix of a table's compaction records. */
export function compactedPrefix(t: TableRef): string {
  return `current/${tableId(t)}/compacted/`;
}

/** Compacted entry key → the entry keys it replaced. */
export async function compactedSources(state: StateStore, t: TableRef): Promise<Map<string, readonly string[]>> {
  const p = compactedPrefix(t);
  return new Map((await state.list(p)).map((e) => [e.key.slice(p.length), (e.value as { from: string[] }).from]));
}

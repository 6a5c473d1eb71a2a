/**
 * What the torn-journal tests cut: a fresh store that commits `txs` into its first journal, the
 * journal's bytes, where each transaction ends in them, and the state after the first n.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EmbeddedStateStore } from '../../../src/state/embedded/embedded-state-store.ts';
import { journalName } from '../../../src/state/embedded/files.ts';
import type { StateOp } from '../../../src/state/state-store.ts';

/** A journal written by {@link writeJournal}. */
export interface WrittenJournal {
  /** The journal file. */
  readonly path: string;
  /** Its whole content after the last commit. */
  readonly full: Buffer;
  /** Its length before any commit (`ends[0]`), then after each transaction. */
  readonly ends: readonly number[];
  /** The store's entries, key-sorted, after the first `n` transactions. */
  expectedAfter(n: number): Record<string, unknown>;
}

/** Commits `txs` one by one into a new store in `dataDir`, then closes it. */
export async function writeJournal(dataDir: string, txs: readonly StateOp[][]): Promise<WrittenJournal> {
  const path = join(dataDir, 'state', journalName(0));
  const s = await EmbeddedStateStore.open({ dataDir });
  const ends: number[] = [(await readFile(path)).length];
  for (const t of txs) {
    await s.commit(t);
    ends.push((await readFile(path)).length);
  }
  await s.close();
  const full = await readFile(path);
  const expectedAfter = (n: number): Record<string, unknown> => {
    const m = new Map<string, unknown>();
    for (const t of txs.slice(0, n)) for (const op of t) op.type === 'put' ? m.set(op.key, op.value) : m.delete(op.key);
    return Object.fromEntries([...m].sort(([x], [y]) => (x < y ? -1 : 1)));
  };
  return { path, full, ends, expectedAfter };
}

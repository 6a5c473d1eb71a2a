/**
 * Opening the embedded store: newest snapshot + every journal from its generation on, replayed
 * in order; leftovers of an interrupted compaction removed; the journal to append to opened.
 */
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptionError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { fsyncDir, journalName, parseStateFileName, snapshotName } from './files.ts';
import { JournalWriter, readJournal } from './journal.ts';
import { readSnapshot } from './snapshot.ts';

/** What {@link recover} rebuilt. */
export interface Recovered {
  /** Key → value as JSON text. */
  readonly values: Map<string, string>;
  /** The newest journal, open for appending. */
  readonly journal: JournalWriter;
  readonly generation: number;
  /** Size of the snapshot loaded (0 when none). */
  readonly snapshotBytes: number;
}

/** Which files make up the state: the newest snapshot (if any) and the journals to replay after it. */
export interface ReplayPlan {
  /** Generation of the newest snapshot, or undefined when there is none. */
  readonly snapshot: number | undefined;
  /** Journal generations to replay, in order (consecutive). */
  readonly journals: readonly number[];
}

/** Plans the replay of a directory listing; a gap in the journals is a CorruptionError. */
export function replayPlan(dir: string, names: readonly string[]): ReplayPlan {
  const journals: number[] = [];
  const snapshots: number[] = [];
  for (const name of names) {
    const f = parseStateFileName(name);
    if (f !== undefined && f.kind !== 'tmp') (f.kind === 'journal' ? journals : snapshots).push(f.gen);
  }
  journals.sort((a, b) => a - b);
  const base = snapshots.length === 0 ? 0 : Math.max(...snapshots);
  const replay = journals.filter((g) => g >= base);
  if (snapshots.length === 0 && replay.length > 0 && replay[0] !== 0) {
    throw new CorruptionError(`state directory ${dir} starts at journal generation ${replay[0]} but has no snapshot; files were removed by hand. Restore the data_dir from a backup.`, { dir });
  }
  for (let i = 1; i < replay.length; i++) {
    if (replay[i] !== (replay[i - 1] as number) + 1) throw new CorruptionError(`state directory ${dir} is missing journal generation ${(replay[i - 1] as number) + 1}; restore the data_dir from a backup.`, { dir });
  }
  return { snapshot: snapshots.length === 0 ? undefined : base, journals: replay };
}

/** Rebuilds the state of `dir`; damage other than a torn tail is a CorruptionError. */
export async function recover(dir: string, logger: Logger): Promise<Recovered> {
  const names = await readdir(dir);
  for (const name of names) if (parseStateFileName(name)?.kind === 'tmp') await unlink(join(dir, name));
  const plan = replayPlan(dir, names);
  const base = plan.snapshot ?? 0;
  const snapshot = plan.snapshot === undefined ? { values: new Map<string, string>(), bytes: 0 } : await readSnapshot(join(dir, snapshotName(base)), base);
  const values = snapshot.values;
  const replay = plan.journals;
  let journal: JournalWriter | undefined;
  for (const [i, gen] of replay.entries()) {
    const path = join(dir, journalName(gen));
    const isLast = i === replay.length - 1;
    const contents = await readJournal(path, gen, isLast, logger);
    for (const tx of contents.transactions) {
      for (const op of tx) {
        if (op.type === 'put') values.set(op.key, JSON.stringify(op.value));
        else values.delete(op.key);
      }
    }
    if (isLast) journal = contents.hasHeader ? await JournalWriter.append(path, contents.size) : await JournalWriter.create(path, gen);
  }
  const generation = replay.length === 0 ? base : (replay[replay.length - 1] as number);
  journal ??= await JournalWriter.create(join(dir, journalName(generation)), generation);
  // Leftovers of a compaction that crashed before its cleanup.
  if (plan.snapshot !== undefined) await removeOlderThan(dir, base);
  return { values, journal, generation, snapshotBytes: snapshot.bytes };
}

/** Deletes journals and snapshots of generations before `generation`. */
export async function removeOlderThan(dir: string, generation: number): Promise<void> {
  let removed = false;
  for (const name of await readdir(dir)) {
    const f = parseStateFileName(name);
    if (f !== undefined && f.kind !== 'tmp' && f.gen < generation) {
      await unlink(join(dir, name));
      removed = true;
    }
  }
  if (removed) await fsyncDir(dir);
}

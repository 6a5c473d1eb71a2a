/**
 * A read-only view of an embedded state store, for commands that look at a data_dir while
 * `hydrant run` holds it (`hydrant query`, `hydrant tables`, `hydrant stream describe`).
 *
 * It reads the newest snapshot and the journals after it without taking the lock, and never
 * writes, truncates or deletes anything: a torn tail of the newest journal (a crash's leftover,
 * or the live writer's append in progress) is ignored, not cut. It sees the state as of open,
 * i.e. every transaction whose frame was complete when its journal was read; open again to see
 * more. The writer may compact meanwhile (new journal, snapshot, old files deleted): a file
 * that vanishes under the reader, or a listing that no longer adds up, makes it read again.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { HydrantError } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import { StateUnavailableError } from '../errors.ts';
import type { StateCondition, StateOp, StateStore, StateValue } from '../state-store.ts';
import { journalName, snapshotName } from './files.ts';
import { readJournal } from './journal.ts';
import { replayPlan } from './recovery.ts';
import { readSnapshot } from './snapshot.ts';
import { SortedKeys } from './sorted-keys.ts';

/** Options of {@link ReadOnlyEmbeddedStateStore.open}. */
export interface ReadOnlyStateStoreOptions {
  /** The pipeline's data directory; the store's files are in `<dataDir>/state/`. */
  readonly dataDir: string;
  readonly logger?: Logger;
  /**
   * Reads of the files before giving up when a concurrent compaction keeps changing them
   * underneath (default 20; each waits a little longer).
   */
  readonly attempts?: number;
}

export class ReadOnlyEmbeddedStateStore implements StateStore {
  /** Directory holding the store's files (`<dataDir>/state`). */
  readonly dir: string;
  readonly #values: Map<string, string>;
  readonly #keys = new SortedKeys();

  private constructor(dir: string, values: Map<string, string>) {
    this.dir = dir;
    this.#values = values;
    for (const k of values.keys()) this.#keys.insert(k);
  }

  /**
   * Reads the state of a data directory as of now, without the lock. A data directory without
   * a state store gives an empty view (nothing is created).
   */
  static async open(options: ReadOnlyStateStoreOptions): Promise<ReadOnlyEmbeddedStateStore> {
    const dir = join(options.dataDir, 'state');
    const logger = options.logger ?? silentLogger;
    const attempts = options.attempts ?? 20;
    for (let attempt = 1; ; attempt++) {
      try {
        return new ReadOnlyEmbeddedStateStore(dir, await readState(dir, logger));
      } catch (err) {
        // A compaction deleted a file we listed, or we caught a write mid-way: read again.
        // Damage that is really there is still there after every attempt, and is reported.
        if (attempt >= attempts || !(isMissing(err) || err instanceof HydrantError)) throw err;
        logger.debug('state changed while reading it read-only; reading again', { dir, attempt, error: err });
        await new Promise((r) => setTimeout(r, Math.min(200, 5 * attempt)));
      }
    }
  }

  async get(key: string): Promise<StateValue | undefined> {
    const v = this.#values.get(key);
    return v === undefined ? undefined : (JSON.parse(v) as StateValue);
  }

  async list(prefix: string): Promise<Array<{ key: string; value: StateValue }>> {
    return this.#keys.withPrefix(prefix).map((key) => ({ key, value: JSON.parse(this.#values.get(key) as string) as StateValue }));
  }

  /** Always rejects: a read-only view never writes. */
  commit(_ops: readonly StateOp[], _conditions?: readonly StateCondition[]): Promise<void> {
    return Promise.reject(new StateUnavailableError(`state store in ${this.dir} was opened read-only (beside a running pipeline, which owns writes); nothing was written. Stop the pipeline and use a command that opens it for writing.`));
  }

  async close(): Promise<void> {
    // Nothing held: no lock, no open file.
  }
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** Snapshot + journals, replayed in memory; nothing on disk is touched. */
async function readState(dir: string, logger: Logger): Promise<Map<string, string>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (isMissing(err)) return new Map();
    throw err;
  }
  const plan = replayPlan(dir, names);
  const values = plan.snapshot === undefined ? new Map<string, string>() : (await readSnapshot(join(dir, snapshotName(plan.snapshot)), plan.snapshot)).values;
  for (const [i, gen] of plan.journals.entries()) {
    const contents = await readJournal(join(dir, journalName(gen)), gen, i === plan.journals.length - 1, logger, { repair: false });
    for (const tx of contents.transactions) {
      for (const op of tx) {
        if (op.type === 'put') values.set(op.key, JSON.stringify(op.value));
        else values.delete(op.key);
      }
    }
  }
  return values;
}

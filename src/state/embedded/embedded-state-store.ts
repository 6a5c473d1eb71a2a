/**
 * The embedded {@link StateStore}: files under `<data_dir>/state/`, no services needed.
 *
 * - Every transaction is one checksummed frame in an append-only journal. Commits queue up
 *   and a single writer loop checks their conditions in order, writes all of them with one
 *   `write` and one `fdatasync` (group commit), and only then applies them to memory and
 *   resolves. Readers therefore only ever see durable state.
 * - On open the newest snapshot is loaded and the journals after it are replayed into an
 *   in-memory sorted map. A torn tail of the newest journal is cut with a warning.
 * - When the journal grows past `compactAfterBytes` (and past the last snapshot's size, so a
 *   large state is not rewritten for every few MiB of changes), the writer loop starts a new
 *   journal and a snapshot of the state as of that moment is written in the background (temp,
 *   fsync, rename, fsync dir); then the files it covers are deleted. Commits do not wait for it.
 * - One process per data_dir, enforced by a lock file. Readers beside it (`hydrant query`
 *   while `hydrant run` holds the lock) use {@link EmbeddedStateStore.openReadOnly}.
 *
 * If a write or fsync fails, the store refuses further writes: after a failed fsync the
 * kernel may have dropped the dirty pages, so only a reopen (replaying the file) is safe.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crashPoint } from '../../core/crash.ts';
import { silentLogger } from '../../core/logger.ts';
import type { Logger } from '../../core/logger.ts';
import { StateConflictError, StateUnavailableError } from '../errors.ts';
import type { StateCondition, StateOp, StateStore, StateValue } from '../state-store.ts';
import { assertValidOps, stateValueEquals } from '../state-value.ts';
import { fsyncDir, journalName, snapshotName } from './files.ts';
import { JournalWriter, encodeTransaction } from './journal.ts';
import { LockFile } from './lock-file.ts';
import { ReadOnlyEmbeddedStateStore, type ReadOnlyStateStoreOptions } from './read-only-state-store.ts';
import { recover, removeOlderThan } from './recovery.ts';
import { writeSnapshot } from './snapshot.ts';
import { SortedKeys } from './sorted-keys.ts';

/** Options of {@link EmbeddedStateStore.open}. */
export interface EmbeddedStateStoreOptions {
  /** The pipeline's data directory; files go to `<dataDir>/state/`. */
  readonly dataDir: string;
  /**
   * Journal size that triggers a snapshot and a fresh journal (default 16 MiB). The journal
   * must also have outgrown the previous snapshot, which bounds write amplification to ~2x.
   */
  readonly compactAfterBytes?: number;
  readonly logger?: Logger;
}

/** Counters for benchmarks and metrics. */
export interface EmbeddedStateStoreStats {
  /** Transactions made durable. */
  readonly commits: number;
  /** fdatasync calls on the journal (commits / fsyncs = group commit factor). */
  readonly fsyncs: number;
  /** Snapshots written. */
  readonly compactions: number;
}

interface Pending {
  readonly ops: readonly StateOp[];
  readonly conditions: readonly StateCondition[];
  resolve(): void;
  reject(err: unknown): void;
}

export class EmbeddedStateStore implements StateStore {
  /** Directory holding the store's files (`<dataDir>/state`). */
  readonly dir: string;
  readonly #values: Map<string, string>;
  readonly #keys = new SortedKeys();
  readonly #lock: LockFile;
  readonly #logger: Logger;
  readonly #compactAfterBytes: number;
  #journal: JournalWriter;
  #generation: number;
  #snapshotBytes: number;
  #queue: Pending[] = [];
  /** True while the writer loop runs; cleared synchronously when it finds the queue empty. */
  #writing = false;
  #drained: Promise<void> = Promise.resolve();
  #failed: unknown;
  #closed = false;
  /** The background snapshot, while one is being written. */
  #compacting: Promise<void> | undefined;
  #stats = { commits: 0, fsyncs: 0, compactions: 0 };

  private constructor(dir: string, values: Map<string, string>, lock: LockFile, journal: JournalWriter, generation: number, snapshotBytes: number, options: EmbeddedStateStoreOptions) {
    this.dir = dir;
    this.#values = values;
    for (const k of values.keys()) this.#keys.insert(k);
    this.#lock = lock;
    this.#journal = journal;
    this.#generation = generation;
    this.#snapshotBytes = snapshotBytes;
    this.#logger = options.logger ?? silentLogger;
    this.#compactAfterBytes = options.compactAfterBytes ?? 16 * 1024 * 1024;
  }

  /** Opens (creating if needed) the store of a data directory and recovers its state. */
  static async open(options: EmbeddedStateStoreOptions): Promise<EmbeddedStateStore> {
    const logger = options.logger ?? silentLogger;
    const dir = join(options.dataDir, 'state');
    const made = await mkdir(dir, { recursive: true });
    if (made !== undefined) {
      // New directories must survive a power loss too: fsync each new entry's parent.
      for (let d = dir; d !== dirname(made); d = dirname(d)) await fsyncDir(dirname(d));
    }
    const lock = await LockFile.acquire(join(dir, 'LOCK'), logger);
    try {
      const { values, journal, generation, snapshotBytes } = await recover(dir, logger);
      return new EmbeddedStateStore(dir, values, lock, journal, generation, snapshotBytes, options);
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  /**
   * Opens the store of a data directory read-only, without the lock, so it works beside a
   * running pipeline: the state as of open, commits rejected, nothing on disk touched.
   */
  static openReadOnly(options: ReadOnlyStateStoreOptions): Promise<ReadOnlyEmbeddedStateStore> {
    return ReadOnlyEmbeddedStateStore.open(options);
  }

  async get(key: string): Promise<StateValue | undefined> {
    const v = this.#values.get(key);
    return v === undefined ? undefined : (JSON.parse(v) as StateValue);
  }

  async list(prefix: string): Promise<Array<{ key: string; value: StateValue }>> {
    return this.#keys.withPrefix(prefix).map((key) => ({ key, value: JSON.parse(this.#values.get(key) as string) as StateValue }));
  }

  commit(ops: readonly StateOp[], conditions: readonly StateCondition[] = []): Promise<void> {
    try {
      this.#checkWritable();
      assertValidOps(ops);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ ops: [...ops], conditions: [...conditions], resolve, reject });
      if (!this.#writing) {
        this.#writing = true;
        this.#drained = this.#drain();
      }
    });
  }

  /** Counters since open. */
  stats(): EmbeddedStateStoreStats {
    return { ...this.#stats };
  }

  /** Resolves once no commit is queued and no snapshot is being written (tests, benchmarks). */
  async idle(): Promise<void> {
    while (this.#writing || this.#compacting !== undefined) {
      await this.#drained;
      await this.#compacting;
    }
  }

  /** Waits for queued commits and a running snapshot, then closes the journal and releases the lock. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.idle();
    await this.#journal.close();
    await this.#lock.release();
  }

  #checkWritable(): void {
    if (this.#failed !== undefined) throw new StateUnavailableError(`state store in ${this.dir} stopped accepting writes after a failed write or fsync; restart the process to recover from the journal.`, { cause: this.#failed });
    if (this.#closed) throw new StateUnavailableError(`state store in ${this.dir} is closed; open it again to write.`);
  }

  async #drain(): Promise<void> {
    // The flag must drop in the same tick the queue is seen empty, or a commit queued in
    // between would wait for a loop that already ended.
    try {
      while (this.#queue.length > 0) await this.#writeGroup();
    } finally {
      this.#writing = false;
    }
  }

  /** Writes one group of queued transactions with one fsync. */
  async #writeGroup(): Promise<void> {
    const batch = this.#queue;
    this.#queue = [];
    try {
      this.#checkWritable();
    } catch (err) {
      if (this.#failed !== undefined) {
        for (const p of batch) p.reject(err);
        return;
      }
      // closing: commits queued before close() still complete
    }
    // Conditions see the effect of earlier transactions in the same group.
    const overlay = new Map<string, string | undefined>();
    const current = (key: string): string | undefined => (overlay.has(key) ? overlay.get(key) : this.#values.get(key));
    const accepted: Pending[] = [];
    const frames: Buffer[] = [];
    for (const p of batch) {
      const failed = p.conditions.find((c) => {
        const cur = current(c.key);
        return !stateValueEquals(cur === undefined ? undefined : (JSON.parse(cur) as StateValue), c.equals);
      });
      if (failed !== undefined) {
        p.reject(new StateConflictError(failed.key));
        continue;
      }
      for (const op of p.ops) overlay.set(op.key, op.type === 'put' ? JSON.stringify(op.value) : undefined);
      if (p.ops.length > 0) frames.push(encodeTransaction(p.ops));
      accepted.push(p);
    }
    if (frames.length > 0) {
      try {
        await this.#journal.write(frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames));
      } catch (err) {
        this.#failed = err;
        this.#logger.error('state journal write failed; the store refuses further writes until restarted', { path: this.#journal.path, error: err });
        for (const p of accepted) p.reject(new StateUnavailableError(`state journal write or fsync failed in ${this.dir}; nothing of this transaction is guaranteed. Restart to recover.`, { cause: err }));
        return;
      }
      this.#stats.fsyncs++;
      this.#stats.commits += frames.length;
    }
    for (const [k, v] of overlay) {
      if (v === undefined) {
        this.#values.delete(k);
        this.#keys.delete(k);
      } else {
        if (!this.#values.has(k)) this.#keys.insert(k);
        this.#values.set(k, v);
      }
    }
    for (const p of accepted) p.resolve();
    if (this.#compacting === undefined && this.#failed === undefined && this.#journal.size >= Math.max(this.#compactAfterBytes, this.#snapshotBytes)) {
      try {
        await this.#rotate();
      } catch (err) {
        // Could not start a new journal: the old one is intact, but stop writing to stay safe.
        this.#failed = err;
        this.#logger.error('state journal rotation failed; the store refuses further writes until restarted', { dir: this.dir, error: err });
      }
    }
  }

  /**
   * Starts generation N+1: new commits go to a fresh journal at once, while a snapshot of the
   * state as of the end of journal N is written in the background. Until that snapshot is in
   * place, recovery still has snapshot N (or nothing) plus journals N and N+1.
   */
  async #rotate(): Promise<void> {
    const next = this.#generation + 1;
    // A consistent copy: nothing changes while the writer loop is here (strings are shared, not copied).
    const entries = this.#keys.all().map((k) => [k, this.#values.get(k) as string] as const);
    const journal = await JournalWriter.create(join(this.dir, journalName(next)), next);
    crashPoint('state.compaction.after-rotate');
    const old = this.#journal;
    this.#journal = journal;
    this.#generation = next;
    await old.close();
    this.#compacting = this.#snapshot(next, entries).finally(() => {
      this.#compacting = undefined;
    });
  }

  async #snapshot(generation: number, entries: ReadonlyArray<readonly [string, string]>): Promise<void> {
    try {
      this.#snapshotBytes = await writeSnapshot(join(this.dir, snapshotName(generation)), generation, entries);
      crashPoint('state.compaction.after-snapshot');
      await removeOlderThan(this.dir, generation);
      this.#stats.compactions++;
      this.#logger.debug('state store compacted', { generation, keys: entries.length });
    } catch (err) {
      // Journals are only deleted after a snapshot covers them, so nothing is at risk: retry at the next rotation.
      this.#logger.error('state snapshot failed; the journals are intact and the next rotation retries', { dir: this.dir, generation, error: err });
    }
  }
}

/**
 * Chunk checkpoints: a chunk is recorded as done in the state store once the runner
 * acknowledged a position at or above its last row (every row it read is durable in the
 * stream). Rows of unfinished chunks that are durable are recorded too, only to report how many
 * rows a restart reads again; that is written with chunk completions or at most once a second.
 */
import type { StateOp, StateStore, StateValue } from '../../../state/state-store.ts';
import type { SnapshotProgress } from './progress.ts';
import { chunkKey, type ChunkRecord } from './snapshot-state.ts';
import type { ChunkTask } from './snapshot-tasks.ts';

interface Finished {
  readonly task: ChunkTask;
  /** Position of the chunk's last row ('' when it had none: durable at once). */
  readonly position: string;
  /** Rows the chunk produced; undefined = count the handed-out rows (first pass). */
  readonly rows: number | undefined;
  readonly superseded: number;
}

export class ChunkCheckpoints {
  readonly #state: StateStore;
  readonly #source: string;
  readonly #progress: SnapshotProgress;
  /** Handed-out batches not yet acknowledged: rows per task. */
  #handed: Array<{ position: string; counts: Map<ChunkTask, number> }> = [];
  #finished: Finished[] = [];
  readonly #partialPending = new Set<ChunkTask>();
  #partialWritten = 0;

  constructor(state: StateStore, source: string, progress: SnapshotProgress) {
    this.#state = state;
    this.#source = source;
    this.#progress = progress;
  }

  /** A batch ending at `position` was handed out with these rows per chunk. */
  handedOut(position: string, counts: Map<ChunkTask, number>): void {
    this.#handed.push({ position, counts });
  }

  /** A chunk was read completely. */
  finished(task: ChunkTask, position: string, rows: number | undefined, superseded: number): void {
    this.#finished.push({ task, position, rows, superseded });
  }

  /** Everything at or below `position` is durable. */
  async ack(position: string): Promise<void> {
    let n = 0;
    while (n < this.#handed.length && (this.#handed[n] as { position: string }).position <= position) {
      for (const [task, c] of (this.#handed[n] as { counts: Map<ChunkTask, number> }).counts) task.durableRows += c;
      n++;
    }
    const touched = new Set<ChunkTask>();
    if (n > 0) {
      for (const h of this.#handed.slice(0, n)) for (const t of h.counts.keys()) touched.add(t);
      this.#handed = this.#handed.slice(n);
    }
    const done: Finished[] = [];
    const keep: Finished[] = [];
    for (const f of this.#finished) (f.position <= position ? done : keep).push(f);
    this.#finished = keep;
    const ops: StateOp[] = [];
    for (const f of done) {
      f.task.completed = true;
      touched.delete(f.task);
      const p = f.task.run.plan;
      const rec: ChunkRecord = { plan: p.id, done: true, rows: f.rows ?? f.task.durableRows, ...(f.superseded > 0 ? { superseded: f.superseded } : {}) };
      ops.push({ type: 'put', key: chunkKey(this.#source, p.schema, p.table, f.task.index), value: rec as unknown as StateValue });
    }
    const now = Date.now();
    if (done.length === 0 && now - this.#partialWritten < 1000) {
      for (const t of touched) this.#partialPending.add(t);
      return;
    }
    for (const t of this.#partialPending) touched.add(t);
    this.#partialPending.clear();
    this.#partialWritten = now;
    for (const t of touched) {
      if (t.completed) continue;
      const p = t.run.plan;
      const rec: ChunkRecord = { plan: p.id, done: false, rows: t.durableRows };
      ops.push({ type: 'put', key: chunkKey(this.#source, p.schema, p.table, t.index), value: rec as unknown as StateValue });
    }
    if (ops.length === 0) return;
    await this.#state.commit(ops);
    for (const f of done) this.#progress.chunkDone(f.task.run.name);
  }
}

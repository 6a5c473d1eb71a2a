/**
 * The source contract: the runner pulls batches (pull = backpressure all the way to the
 * source), makes them durable in the stream, records the batch's position in the state store,
 * and only then calls {@link Source.ack}. A source must not acknowledge anything upstream
 * (replication slot, binlog, file offset) before `ack` covers it.
 *
 * Pipelining: the runner asks for batch N+1 (`next`) while batch N is still being made
 * durable, so `ack(N)` arrives after `next` returned batch N+1 (at most one batch ahead), never
 * while a `next` call runs. A source therefore holds at most two batches' worth of state and
 * must accept an `ack` of a position older than what it last emitted.
 */
import type { ChangeEvent, Envelope } from '../core/change-event.ts';
import type { EncodedEvents } from '../core/encoded-events.ts';
import type { TableSchema } from '../core/schema.ts';

export interface SourceBatch {
  /** Records in source order; each `source.position` is > the previous one. */
  readonly events: readonly Envelope[];
  /**
   * The same records already encoded as stream records, instead of `events` (which is then
   * empty). Only when the source's context has `encodedBatches: true`; see encoded-events.ts.
   */
  readonly encoded?: EncodedEvents;
  /** New table schema versions the events refer to; recorded before the events are appended. */
  readonly schemas?: readonly TableSchema[];
  /** Position that, once durable, resumes after this batch (>= every event's position). */
  readonly position: string;
  /** true when the source has nothing more right now (with `events` possibly empty). */
  readonly caughtUp: boolean;
}

export interface Source {
  /** Starts after `position` (null = from the beginning / per the source's snapshot setting). */
  start(position: string | null): Promise<void>;
  /** Next batch; waits (bounded by the signal) when nothing is there. */
  next(signal: AbortSignal): Promise<SourceBatch>;
  /** Everything at or below `position` is durable: the source may release it upstream. */
  ack(position: string): Promise<void>;
  close(): Promise<void>;
}

/** Narrowing helper. */
export function isChange(e: Envelope): e is ChangeEvent {
  return e.op !== 'event';
}

/** Number of records in a batch, whichever form they come in. */
export function batchSize(b: SourceBatch): number {
  return b.encoded !== undefined ? b.encoded.count + b.events.length : b.events.length;
}

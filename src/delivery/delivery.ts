/**
 * The delivery contract: the runner reads each shard of the delivery's stream through a named
 * consumer and hands records over in order. A delivery buffers as it likes and, once output
 * is fully committed, calls `ctx.commit(shardId, sequence, ops)`: that advances the consumer
 * checkpoint to `sequence` atomically with `ops` (e.g. catalog entries). After a crash the
 * runner re-reads from the checkpoint, so object names must be deterministic (delivery,
 * shard, first..last sequence) and a retry rewrites the same object.
 */
import type { Envelope } from '../core/change-event.ts';
import type { StateOp } from '../state/state-store.ts';
import type { StreamRecord } from '../stream/stream-log.ts';

export interface DeliveryRecord {
  readonly record: StreamRecord;
  /** Decoded envelope (after delivery-edge transforms). */
  readonly envelope: Envelope;
  readonly partitionKeys?: Readonly<Record<string, string>>;
}

export interface DeliveryCommitter {
  /** Atomically: consumer checkpoint of `shardId` := `sequence`, plus `ops`. */
  commit(shardId: string, sequence: string, ops?: readonly StateOp[]): Promise<void>;
}

export interface Delivery {
  /** Starts; `committer` is how the delivery advances its checkpoints. */
  start(committer: DeliveryCommitter): Promise<void>;
  /** Takes the next records of a shard (in order). May await to apply backpressure. */
  write(shardId: string, records: readonly DeliveryRecord[]): Promise<void>;
  /** Commits everything buffered (shutdown, --until-caught-up). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

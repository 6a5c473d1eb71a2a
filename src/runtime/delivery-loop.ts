/**
 * Consumer loops of a delivery: one per shard of its stream. Each reads from the consumer
 * checkpoint (`consumers/<stream>/<delivery>/<shard>`), decodes the envelopes, runs the
 * delivery-edge transforms and awaits `delivery.write()`. The checkpoint advances only when the
 * delivery calls the {@link RunnerCommitter} after committing its output, so a crash replays
 * from the last committed record and never skips one.
 *
 * Memory per loop is one read batch (`maxRecords` / `maxBytes`), plus what the delivery
 * buffers; the loop does not read again until `write()` resolved (backpressure).
 * Records that fail decoding or a transform go to `errors/<delivery>/processing-failed/`
 * (named by shard and sequence; the object names the transform) and the loop goes on.
 */
import { decodeEnvelope, encodeEnvelope } from '../core/change-event.ts';
import { crashPoint } from '../core/crash.ts';
import { HydrantError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { Delivery, DeliveryCommitter, DeliveryRecord } from '../delivery/delivery.ts';
import type { StateOp, StateStore } from '../state/state-store.ts';
import { compareSequence } from '../stream/sequence.ts';
import type { ReadLimits, ShardIterator, StreamLog, StreamRecord } from '../stream/stream-log.ts';
import type { TransformItem } from '../transforms/transform.ts';
import { withBackoff } from './backoff.ts';
import type { ErrorSink, FailedRecord } from './error-sink.ts';
import { consumerCheckpointKey } from './state-keys.ts';
import { applyChain, type NamedTransform } from './transform-chain.ts';

/** A checkpoint would move backwards: a delivery bug. */
export class CheckpointRegressionError extends HydrantError {
  constructor(delivery: string, shardId: string, from: string, to: string) {
    super('CHECKPOINT_REGRESSION', `delivery "${delivery}" tried to move its checkpoint on shard ${shardId} back from ${from} to ${to}; checkpoints only advance. This is a bug in the delivery; please report it.`);
  }
}

/** Advances a delivery's checkpoints in the state store, atomically with the delivery's ops. */
export class RunnerCommitter implements DeliveryCommitter {
  readonly #state: StateStore;
  readonly #stream: string;
  readonly #delivery: string;
  readonly #metrics: Metrics;
  /** Last committed sequence per shard. */
  readonly committed = new Map<string, string>();

  constructor(state: StateStore, stream: string, delivery: string, metrics: Metrics) {
    this.#state = state;
    this.#stream = stream;
    this.#delivery = delivery;
    this.#metrics = metrics;
  }

  async commit(shardId: string, sequence: string, ops: readonly StateOp[] = []): Promise<void> {
    const prev = this.committed.get(shardId);
    if (prev !== undefined && compareSequence(sequence, prev) < 0) throw new CheckpointRegressionError(this.#delivery, shardId, prev, sequence);
    crashPoint('delivery.after-write-before-checkpoint');
    await this.#state.commit([{ type: 'put', key: consumerCheckpointKey(this.#stream, this.#delivery, shardId), value: sequence }, ...ops]);
    this.committed.set(shardId, sequence);
    this.#metrics.inc('hydrant_delivery_commits_total', 'Checkpoint commits made by deliveries.', { delivery: this.#delivery });
  }
}

/** What a shard loop needs. */
export interface ShardLoopDeps {
  readonly delivery: string;
  readonly stream: string;
  readonly shardId: string;
  readonly target: Delivery;
  readonly committer: RunnerCommitter;
  readonly transforms: readonly NamedTransform[];
  readonly state: StateStore;
  readonly log: StreamLog;
  readonly errors: ErrorSink;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly limits: Required<ReadLimits>;
}

/** Reads one shard into one delivery. */
export class ShardLoop {
  readonly #d: ShardLoopDeps;
  #lastRead: string | null = null;

  constructor(deps: ShardLoopDeps) {
    this.#d = deps;
  }

  /**
   * Runs until `signal` aborts, the shard is closed and fully read (`ended`: its children may
   * be read now), or `finishWhenIdle()` was true before a read that found nothing (`idle`:
   * every record that will ever arrive was read).
   * `wake` aborts to cut short a wait for new records (e.g. when `finishWhenIdle` turns true).
   */
  async run(signal: AbortSignal, finishWhenIdle: () => boolean, wake?: AbortSignal): Promise<'ended' | 'idle' | 'aborted'> {
    const waitSignal = wake === undefined ? signal : AbortSignal.any([signal, wake]);
    const d = this.#d;
    const cp = await d.state.get(consumerCheckpointKey(d.stream, d.delivery, d.shardId));
    const start = typeof cp === 'string' ? cp : null;
    if (start !== null) d.committer.committed.set(d.shardId, start);
    this.#lastRead = start;
    let from: ShardIterator = start === null ? { type: 'TRIM_HORIZON' } : { type: 'AFTER_SEQUENCE_NUMBER', sequence: start };
    while (!signal.aborted) {
      const final = finishWhenIdle();
      const res = await withBackoff(`delivery ${d.delivery}: read ${d.stream}/${d.shardId}`, d.logger, signal, () => d.log.read(d.stream, d.shardId, from, d.limits));
      if (res.records.length === 0) {
        if (res.next === null) return 'ended';
        if (final) return 'idle';
        from = res.next;
        await d.log.waitForRecords(d.stream, d.shardId, this.#lastRead, 1000, waitSignal);
        continue;
      }
      await this.#deliver(res.records, signal);
      this.#lastRead = (res.records[res.records.length - 1] as StreamRecord).sequence;
      if (res.next === null) return 'ended';
      from = res.next;
    }
    return 'aborted';
  }

  async #deliver(records: readonly StreamRecord[], signal: AbortSignal): Promise<void> {
    const d = this.#d;
    const failed: FailedRecord[] = [];
    const items: TransformItem[] = [];
    const bySeq = new Map<string, StreamRecord>();
    for (const r of records) {
      try {
        items.push({ id: r.sequence, envelope: decodeEnvelope(r.data), arrivalTime: r.arrivalTime });
        bySeq.set(r.sequence, r);
      } catch (err) {
        failed.push(this.#failure(d.delivery, r, `could not decode the record: ${(err as Error).message}`, 1));
      }
    }
    const out = await applyChain(d.transforms, items);
    for (const f of out.failed) {
      const r = bySeq.get(f.item.id);
      // An item a transform made up has no stream record: store the envelope it failed on.
      failed.push(r !== undefined ? { ...this.#failure(d.delivery, r, f.reason, f.attempts), transform: f.component } : { component: d.delivery, transform: f.component, id: `${d.stream}-${d.shardId}-item-${f.item.id}`, raw: encodeEnvelope(f.item.envelope), reason: f.reason, attempts: f.attempts, arrivalTime: f.item.arrivalTime, context: { stream: d.stream, shardId: d.shardId } });
    }
    if (failed.length > 0) await d.errors.write(failed);
    const batch: DeliveryRecord[] = out.items.map((i) => {
      const record = bySeq.get(i.id);
      if (record === undefined) throw new HydrantError('TRANSFORM_ID_UNKNOWN', `a transform on the edge of delivery "${d.delivery}" (${d.transforms.map((t) => t.name).join(', ')}) returned an item with id ${JSON.stringify(i.id)}, which it was not given; transforms must keep the ids of the items they return.`);
      return { record, envelope: i.envelope, ...(i.partitionKeys === undefined ? {} : { partitionKeys: i.partitionKeys }) };
    });
    if (batch.length === 0) return;
    await withBackoff(`delivery ${d.delivery}: write ${d.shardId}`, d.logger, signal, () => d.target.write(d.shardId, batch));
    const perTable = new Map<string, number>();
    let bytes = 0;
    for (const r of batch) {
      const t = r.envelope.op === 'event' ? '' : r.envelope.source.table;
      perTable.set(t, (perTable.get(t) ?? 0) + 1);
      bytes += r.record.data.byteLength;
    }
    for (const [table, n] of perTable) d.metrics.inc('hydrant_delivery_records_total', 'Records handed to a delivery.', { delivery: d.delivery, table }, n);
    d.metrics.inc('hydrant_delivery_bytes_total', 'Record bytes handed to a delivery.', { delivery: d.delivery }, bytes);
  }

  #failure(component: string, r: StreamRecord, reason: string, attempts: number): FailedRecord {
    const d = this.#d;
    return { component, id: `${d.stream}-${r.shardId}-${r.sequence}`, raw: r.data, reason, attempts, arrivalTime: r.arrivalTime, context: { stream: d.stream, shardId: r.shardId, sequence: r.sequence, partitionKey: r.partitionKey } };
  }
}

/**
 * Drives the real lake delivery with workload events, as the runner would: events spread over
 * shards by partition key, written, flushed, and committed with catalog entries + checkpoint.
 */
import { createHash } from 'node:crypto';
import { silentLogger } from '../../../src/core/logger.ts';
import { Metrics } from '../../../src/core/metrics.ts';
import { encodeEnvelope, partitionKeyOf, type ChangeEvent } from '../../../src/core/change-event.ts';
import type { DeliveryCommitter, DeliveryRecord } from '../../../src/delivery/delivery.ts';
import { lakeDeliveryConfig } from '../../../src/delivery/lake/config.ts';
import { LakeDelivery } from '../../../src/delivery/lake/lake-delivery.ts';
import type { ObjectStore } from '../../../src/lake/object-store.ts';
import type { StateOp, StateStore } from '../../../src/state/state-store.ts';

/** The lake delivery plus per-shard sequences. */
export class LakePipeline {
  readonly #delivery: LakeDelivery;
  readonly #shards: number;
  readonly #seq = new Map<string, number>();

  private constructor(delivery: LakeDelivery, shards: number) {
    this.#delivery = delivery;
    this.#shards = shards;
  }

  static async open(o: { state: StateStore; lake: ObjectStore; dataDir: string; shards: number; format: 'parquet' | 'jsonl' }): Promise<LakePipeline> {
    const delivery = new LakeDelivery(lakeDeliveryConfig.parse({ format: o.format, buffer_interval_s: 0 }), { name: 'to_lake', dataDir: o.dataDir, state: o.state, lake: o.lake, logger: silentLogger, metrics: new Metrics() });
    const committer: DeliveryCommitter = {
      commit: (shard: string, sequence: string, ops: readonly StateOp[] = []) => o.state.commit([...ops, { type: 'put', key: `consumers/s/to_lake/${shard}`, value: sequence }]),
    };
    await delivery.start(committer);
    const p = new LakePipeline(delivery, o.shards);
    // Resume sequences where the last pipeline on this state store stopped, as a stream would.
    for (let i = 0; i < o.shards; i++) {
      const last = await o.state.get(`consumers/s/to_lake/shard-${i}`);
      if (typeof last === 'string') p.#seq.set(`shard-${i}`, Number(last));
    }
    return p;
  }

  /** The shard an event goes to (by partition key, as the stream log routes it). */
  shardOf(e: ChangeEvent): string {
    return `shard-${createHash('md5').update(partitionKeyOf(e)).digest().readUInt32BE(0) % this.#shards}`;
  }

  /** Writes events (spread over shards by partition key, order kept per shard) and flushes. */
  async deliver(events: readonly ChangeEvent[]): Promise<void> {
    const byShard = new Map<string, ChangeEvent[]>();
    for (const e of events) {
      const shard = this.shardOf(e);
      let list = byShard.get(shard);
      if (list === undefined) byShard.set(shard, (list = []));
      list.push(e);
    }
    for (const [shard, list] of byShard) await this.#write(shard, list);
    await this.#delivery.flush();
  }

  /**
   * Writes events of ONE shard (all must route to it, in order) and flushes: its change
   * objects commit while the other shards' changes are still on their way, as when shards
   * consume at different speeds.
   */
  async deliverShard(shard: string, events: readonly ChangeEvent[]): Promise<void> {
    for (const e of events) if (this.shardOf(e) !== shard) throw new Error(`event at ${e.source.position} routes to ${this.shardOf(e)}, not ${shard}`);
    await this.#write(shard, events);
    await this.#delivery.flush();
  }

  /**
   * Writes events to a shard id of the caller's choice, without routing, and flushes: a stream
   * after a reshard, where a key's changes move from a parent shard to a child.
   */
  async deliverUnrouted(shard: string, events: readonly ChangeEvent[]): Promise<void> {
    await this.#write(shard, events);
    await this.#delivery.flush();
  }

  async #write(shard: string, events: readonly ChangeEvent[]): Promise<void> {
    const recs: DeliveryRecord[] = [];
    for (const e of events) {
      const seq = (this.#seq.get(shard) ?? 0) + 1;
      this.#seq.set(shard, seq);
      recs.push({ envelope: e, record: { partitionKey: partitionKeyOf(e), data: encodeEnvelope(e), arrivalTime: e.source.commitTime.toMillis(), sequence: String(seq), shardId: shard } });
    }
    if (recs.length > 0) await this.#delivery.write(shard, recs);
  }

  async close(): Promise<void> {
    await this.#delivery.close();
  }
}

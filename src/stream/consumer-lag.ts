/**
 * How far a named consumer is behind, per shard: unread records and IteratorAge (age in ms of
 * the oldest record it has not read yet; 0 when caught up), plus the matching gauges.
 */
import type { Metrics } from '../core/metrics.ts';
import type { StateStore } from '../state/state-store.ts';
import { checkpointIterator, firstUnread, listStreamCheckpoints } from './consumer-checkpoints.ts';
import type { StreamLog } from './stream-log.ts';

/** One shard's lag for one consumer. */
export interface ShardLag {
  readonly shardId: string;
  /** Unread records (exact on backends with gapless sequences, such as the embedded log). */
  readonly records: number;
  /** IteratorAge: now minus the arrival time of the oldest unread record; 0 when caught up. */
  readonly millis: number;
}

/** Counting by reading stops here on backends without `shardInfo`. */
const COUNT_CAP = 100_000;

/** Lag of `consumer` on every shard of `stream`. */
export async function consumerLag(log: StreamLog, state: StateStore, stream: string, consumer: string, now: number = Date.now()): Promise<ShardLag[]> {
  const desc = await log.describeStream(stream);
  const checkpoints = (await listStreamCheckpoints(state, stream)).get(consumer) ?? new Map();
  const out: ShardLag[] = [];
  for (const s of desc.shards) {
    const cp = checkpoints.get(s.shardId);
    const head = await log.read(stream, s.shardId, checkpointIterator(cp), { maxRecords: 1 });
    const oldest = head.records[0];
    const millis = oldest === undefined ? 0 : Math.max(0, now - oldest.arrivalTime);
    let records = 0;
    if (oldest !== undefined) {
      const info = await log.shardInfo?.(stream, s.shardId);
      if (info !== undefined && info.lastSequence !== null) {
        records = Number(BigInt(info.lastSequence) - maxBig(firstUnread(cp), BigInt(oldest.sequence)) + 1n);
      } else {
        let it = checkpointIterator(cp);
        for (;;) {
          const page = await log.read(stream, s.shardId, it, { maxRecords: 10_000 });
          records += page.records.length;
          if (page.next === null || page.records.length === 0 || records >= COUNT_CAP) break;
          it = page.next;
        }
      }
    }
    out.push({ shardId: s.shardId, records, millis });
  }
  return out;
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/** Publishes lag as gauges `hydrant_stream_consumer_lag_records` and `..._lag_ms`. */
export function recordLagMetrics(metrics: Metrics, stream: string, consumer: string, lags: readonly ShardLag[]): void {
  for (const l of lags) {
    const labels = { stream, consumer, shard: l.shardId };
    metrics.set('hydrant_stream_consumer_lag_records', 'Records a named consumer has not read yet, per shard', labels, l.records);
    metrics.set('hydrant_stream_consumer_lag_ms', 'IteratorAge: age of the oldest record a named consumer has not read, per shard', labels, l.millis);
  }
}

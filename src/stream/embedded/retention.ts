/**
 * Retention of the embedded log: deletes whole sealed segments, oldest first, once they are
 * older than `maxAgeMs` or while their shard is above `maxBytes`. A segment holding records a
 * named consumer has not read is either deleted anyway (`unread: 'delete'`, Kinesis
 * behaviour) or kept (`unread: 'hold'`) until the stream reaches `holdCapBytes`; either way a
 * warning and a metric say so. The newest segment of an open shard is never deleted. Sizes are per
 * shard, as `retention_bytes` in the pipeline file.
 */
import type { Logger } from '../../core/logger.ts';
import type { Metrics } from '../../core/metrics.ts';
import type { StateStore } from '../../state/state-store.ts';
import { firstUnread, listStreamCheckpoints } from '../consumer-checkpoints.ts';
import { SEGMENT_HEADER_BYTES } from './segment-format.ts';
import type { Segment } from './segment.ts';
import type { ShardLog } from './shard-log.ts';

/** How long a stream keeps records. */
export interface RetentionPolicy {
  /** Delete segments whose newest record is older than this (undefined = no age limit). */
  readonly maxAgeMs: number | undefined;
  /** Delete a shard's oldest segments while the shard is larger than this (undefined = no size limit). */
  readonly maxBytes: number | undefined;
  /** What to do with segments a named consumer has not read. */
  readonly unread: 'delete' | 'hold';
  /** With `hold`: delete unread segments anyway while the shard is larger than this. */
  readonly holdCapBytes: number | undefined;
}

/**
 * A stream's retention from its pipeline-file settings (`retention_age` in ms,
 * `retention_bytes` per shard, `retention_policy`); the hold cap keeps its default.
 */
export function retentionFromStreamConfig(c: { readonly retention_age: number; readonly retention_bytes?: number | undefined; readonly retention_policy: 'delete' | 'hold' }): Partial<RetentionPolicy> {
  return { maxAgeMs: c.retention_age, maxBytes: c.retention_bytes, unread: c.retention_policy };
}

/** What one retention run did to a stream. */
export interface RetentionReport {
  readonly stream: string;
  readonly deletedSegments: number;
  readonly deletedRecords: number;
  readonly deletedBytes: number;
  /** Records deleted before a consumer read them. */
  readonly unreadDeleted: ReadonlyArray<{ readonly consumer: string; readonly shardId: string; readonly records: number }>;
  /** Bytes kept only because a consumer has not read them (`hold`). */
  readonly heldBytes: number;
}

/** What one retention run works on. */
export interface RetentionInput {
  readonly stream: string;
  readonly shards: readonly ShardLog[];
  readonly policy: RetentionPolicy;
  readonly state: StateStore | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now: number;
}

/** Runs retention once on one stream. */
export async function enforceRetention(input: RetentionInput): Promise<RetentionReport> {
  const { stream, policy, now } = input;
  const checkpoints = input.state === undefined ? new Map() : await listStreamCheckpoints(input.state, stream);
  const size = new Map<ShardLog, number>(input.shards.map((s) => [s, s.bytes]));
  const doomed = new Set<Segment>();
  const blocked = new Set<ShardLog>();
  const unreadDeleted: Array<{ consumer: string; shardId: string; records: number }> = [];
  let heldBytes = 0;
  const next = new Map<ShardLog, number>(input.shards.map((s) => [s, 0]));

  const candidate = (shard: ShardLog): Segment | undefined => {
    const i = next.get(shard) as number;
    const s = shard.segments[i];
    // Never an open shard's newest segment, nor a closed shard's empty stand-in.
    return !blocked.has(shard) && s !== undefined && (i < shard.segments.length - 1 || shard.closed) && s.sealed && s.bytes > SEGMENT_HEADER_BYTES ? s : undefined;
  };
  /** Decides on one segment; false when it must be kept (and the shard stops there). */
  const take = (shard: ShardLog, seg: Segment): boolean => {
    const unread: Array<{ consumer: string; records: number }> = [];
    for (const [consumer, byShard] of checkpoints) {
      const from = firstUnread(byShard.get(shard.shardId));
      if (from <= BigInt(seg.lastSequence)) unread.push({ consumer, records: seg.lastSequence - Math.max(Number(from), seg.baseSequence) + 1 });
    }
    if (unread.length > 0 && policy.unread === 'hold' && (policy.holdCapBytes === undefined || (size.get(shard) as number) <= policy.holdCapBytes)) {
      blocked.add(shard);
      heldBytes += shard.segments.slice(next.get(shard)).filter((s) => s.sealed).reduce((a, s) => a + s.bytes, 0);
      return false;
    }
    for (const u of unread) {
      const same = unreadDeleted.find((x) => x.consumer === u.consumer && x.shardId === shard.shardId);
      if (same === undefined) unreadDeleted.push({ consumer: u.consumer, shardId: shard.shardId, records: u.records });
      else same.records += u.records;
    }
    doomed.add(seg);
    next.set(shard, (next.get(shard) as number) + 1);
    size.set(shard, (size.get(shard) as number) - seg.bytes);
    return true;
  };

  if (policy.maxAgeMs !== undefined) {
    for (const shard of input.shards) {
      for (let s = candidate(shard); s !== undefined && s.lastArrival < now - policy.maxAgeMs; s = candidate(shard)) if (!take(shard, s)) break;
    }
  }
  if (policy.maxBytes !== undefined) {
    for (const shard of input.shards) {
      for (let s = candidate(shard); s !== undefined && (size.get(shard) as number) > policy.maxBytes; s = candidate(shard)) if (!take(shard, s)) break;
    }
  }

  let deletedRecords = 0;
  let deletedBytes = 0;
  let deletedSegments = 0;
  for (const shard of input.shards) {
    for (const s of await shard.deleteOldest((x) => doomed.has(x))) {
      deletedSegments++;
      deletedRecords += s.lastSequence - s.baseSequence + 1;
      deletedBytes += s.bytes;
    }
  }
  const labels = { stream };
  if (deletedSegments > 0) {
    input.metrics.inc('hydrant_stream_retention_deleted_segments_total', 'Segments deleted by stream retention', labels, deletedSegments);
    input.metrics.inc('hydrant_stream_retention_deleted_records_total', 'Records deleted by stream retention', labels, deletedRecords);
    input.logger.info('stream log: retention deleted old segments', { stream, segments: deletedSegments, records: deletedRecords, bytes: deletedBytes });
  }
  for (const u of unreadDeleted) {
    input.metrics.inc('hydrant_stream_retention_unread_deleted_records_total', 'Records deleted by retention before a named consumer read them', { stream, shard: u.shardId, consumer: u.consumer }, u.records);
    input.logger.warn('stream log: retention deleted records a consumer has not read; it will skip them. Raise retention, set unread: hold, or speed up the consumer.', { stream, shard: u.shardId, consumer: u.consumer, records: u.records, policy: policy.unread });
  }
  input.metrics.set('hydrant_stream_retention_held_bytes', 'Bytes kept past retention because a named consumer has not read them', labels, heldBytes);
  if (heldBytes > 0) input.logger.warn('stream log: retention is holding segments a consumer has not read', { stream, heldBytes, holdCapBytes: policy.holdCapBytes ?? null });
  return { stream, deletedSegments, deletedRecords, deletedBytes, unreadDeleted, heldBytes };
}

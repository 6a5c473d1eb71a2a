/**
 * The stream log: named streams of N shards with Kinesis semantics. A record's partition key
 * is hashed with MD5 into the 128-bit hash-key space; each shard owns a contiguous range.
 * Sequence numbers are decimal strings, strictly increasing per shard.
 *
 * Implementations: `embedded/` (files under data_dir, the default); NATS JetStream and
 * Kinesis later. Each must pass `test/stream/stream-log-conformance.ts`.
 */

/** Where a read starts. `timestamp` is epoch milliseconds (arrival time). */
export type ShardIterator =
  | { readonly type: 'TRIM_HORIZON' }
  | { readonly type: 'LATEST' }
  | { readonly type: 'AT_SEQUENCE_NUMBER'; readonly sequence: string }
  | { readonly type: 'AFTER_SEQUENCE_NUMBER'; readonly sequence: string }
  | { readonly type: 'AT_TIMESTAMP'; readonly timestamp: number };

/** A record to append. */
export interface PutRecord {
  readonly partitionKey: string;
  readonly data: Uint8Array;
  /** Decimal 128-bit hash key that overrides the MD5 of the partition key. */
  readonly explicitHashKey?: string;
}

/** Where an appended record landed. */
export interface PutResult {
  readonly shardId: string;
  readonly sequence: string;
}

/**
 * Records packed back to back in one buffer (what a source loop holds after encoding a batch):
 * appended without an object or a view per record.
 */
export interface PackedRecords {
  readonly count: number;
  readonly bytes: Uint8Array;
  /** End offset of each record in `bytes` (record i spans `ends[i-1] ?? 0` to `ends[i]`). */
  readonly ends: ArrayLike<number>;
  readonly partitionKeys: readonly string[];
}

/** Where a packed append went: per shard that took records, the sequences it gave them. */
export interface PackedAppendResult {
  readonly shards: ReadonlyArray<{ readonly shardId: string; readonly count: number; readonly firstSequence: string; readonly lastSequence: string }>;
}

/** What the log stores. */
export interface StreamRecord {
  readonly partitionKey: string;
  readonly data: Uint8Array;
  /** Epoch milliseconds when the log accepted the record. */
  readonly arrivalTime: number;
  readonly sequence: string;
  readonly shardId: string;
}

export interface ShardDescription {
  readonly shardId: string;
  /** Inclusive decimal bounds in 0..2^128-1. */
  readonly hashKeyRange: { readonly start: string; readonly end: string };
  readonly parentShardIds: readonly string[];
  /** true once the shard was split or merged away: it takes no appends. */
  readonly closed: boolean;
}

export interface StreamDescription {
  readonly name: string;
  readonly shards: readonly ShardDescription[];
  readonly createdAt: number;
}

export interface ReadLimits {
  /** At most this many records (default 10,000). */
  readonly maxRecords?: number;
  /** At most about this many data bytes (default 8 MiB; at least one record is returned). */
  readonly maxBytes?: number;
}

export interface ReadResult {
  readonly records: readonly StreamRecord[];
  /** Where the next read continues; null once a closed shard has been read to its end. */
  readonly next: ShardIterator | null;
  /** Arrival-time lag of the last record returned behind the shard's newest, in ms. */
  readonly millisBehindLatest: number;
}

export interface StreamLogStats {
  readonly appends: number;
  readonly recordsAppended: number;
  readonly fsyncs: number;
}

/** Size and position facts about one shard (see {@link StreamLog.shardInfo}). */
export interface ShardInfo {
  readonly shardId: string;
  /** Oldest record still kept, or null when the shard holds none. */
  readonly firstSequence: string | null;
  /** Newest acknowledged record, or null when none was ever appended. */
  readonly lastSequence: string | null;
  /** Records kept (after retention). */
  readonly records: number;
  /** Bytes kept on disk (or in the backend). */
  readonly bytes: number;
  /** Arrival time of the newest record (epoch ms), or null when none. */
  readonly lastArrivalTime: number | null;
  readonly closed: boolean;
}

export interface StreamLog {
  /** Creates a stream with `shards` shards; a no-op when it exists. */
  ensureStream(name: string, options: { readonly shards: number }): Promise<StreamDescription>;
  describeStream(name: string): Promise<StreamDescription>;
  listStreams(): Promise<string[]>;
  deleteStream(name: string): Promise<void>;
  /**
   * Appends records; resolves only after they are durable (fsync'd). Order is kept per shard.
   * An implementation must not keep references to the records' bytes once the promise settled:
   * sources reuse their batch buffers after the runner acknowledged the batch
   * (`EncodedEventsBuilder.recycle`). Copy what must outlive the call.
   */
  append(stream: string, records: readonly PutRecord[]): Promise<PutResult[]>;
  /**
   * Like {@link append} for packed records (same routing, order and durability), reporting per
   * shard instead of per record. Optional: callers fall back to `append`.
   */
  appendPacked?(stream: string, records: PackedRecords): Promise<PackedAppendResult>;
  /** Reads in order from `from`, bounded by limits. Corrupt acknowledged data throws. */
  read(stream: string, shardId: string, from: ShardIterator, limits?: ReadLimits): Promise<ReadResult>;
  /**
   * Resolves true as soon as the shard has a record after `afterSequence` (null = any record),
   * false after `timeoutMs` or when `signal` aborts. Never a hot loop.
   */
  waitForRecords(stream: string, shardId: string, afterSequence: string | null, timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  stats(): StreamLogStats;
  close(): Promise<void>;
  /** Optional: size and position of a shard, for lag and `hydrant stream describe`. */
  shardInfo?(stream: string, shardId: string): Promise<ShardInfo>;
  /**
   * Optional: changes the number of open shards to `count` (evenly spread hash ranges). The
   * open shards close; new children list them as parents. Readers drain parents first.
   */
  reshard?(stream: string, count: number): Promise<StreamDescription>;
}

/**
 * The embedded stream log: files under `<data_dir>/streams/<stream>/<shard>/`. Named streams
 * of N shards, MD5 hash-key routing, per-shard group-committed appends (fsync before ack),
 * crash recovery on open, reads by every iterator type, split/merge/reshard with lineage,
 * and retention (see `retention.ts`).
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { HydrantError, NotFoundError } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import { Metrics } from '../../core/metrics.ts';
import type { StateStore } from '../../state/state-store.ts';
import { listStreamCheckpoints } from '../consumer-checkpoints.ts';
import { consumerLag, recordLagMetrics } from '../consumer-lag.ts';
import { evenRanges, HashKeyRouter, parseHashKey } from '../hash-key.ts';
import { planMerge, planReshard, planSplit, type ReshardPlan } from '../reshard-plan.ts';
import { formatSequence, formatSequenceRun, parseSequence } from '../sequence.ts';
import type { PackedAppendResult, PackedRecords, PutRecord, PutResult, ReadLimits, ReadResult, ShardInfo, ShardIterator, StreamDescription, StreamLog, StreamLogStats } from '../stream-log.ts';
import { DEFAULT_BLOCK_BYTES } from './block-format.ts';
import { enforceRetention, type RetentionPolicy, type RetentionReport } from './retention.ts';
import { ShardLog, type ShardOptions } from './shard-log.ts';
import { PackedView } from './block-format.ts';
import { describeMeta, readStreamMeta, shardIdFor, writeStreamMeta, type StreamMeta } from './stream-meta.ts';

/** Options of {@link EmbeddedStreamLog}. */
export interface EmbeddedStreamLogOptions {
  /** The pipeline's data directory; streams live in `<dataDir>/streams/`. */
  readonly dataDir: string;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** Roll to a new segment after this many bytes (default 64 MiB). */
  readonly segmentBytes?: number;
  /** One sparse index point per this many bytes (default 64 KiB). */
  readonly indexIntervalBytes?: number;
  /**
   * Bound on one on-disk block (default 1 MiB): a batch is stored as one block or several,
   * each with one checksum; a single larger record gets a block of its own.
   */
  readonly blockBytes?: number;
  /** Largest accepted record data (default 1 MiB, as Kinesis). */
  readonly maxRecordBytes?: number;
  /** Where consumer checkpoints live; retention consults it for unread records. */
  readonly state?: StateStore;
  /** Retention for streams without their own entry in `streams` (default: 24 h, delete). */
  readonly retention?: Partial<RetentionPolicy>;
  /** Per-stream retention overrides. */
  readonly streams?: Readonly<Record<string, Partial<RetentionPolicy>>>;
  /**
   * Run retention and publish consumer lag metrics every this many ms (default 60 s; 0 = only
   * when `enforceRetention` / `publishLag` are called).
   */
  readonly retentionIntervalMs?: number;
  /**
   * Only read: recovery changes no file, appends and layout changes are refused. For tools
   * (`hydrant stream`) that look at a data dir a running pipeline may be writing.
   */
  readonly readOnly?: boolean;
}

/** {@link StreamLogStats} plus bytes read from segment files. */
export interface EmbeddedStreamLogStats extends StreamLogStats {
  readonly bytesRead: number;
}

/** A record the log refuses (too large, bad key). Nothing of the batch was appended. */
export class InvalidRecordError extends HydrantError {
  constructor(stream: string, index: number, reason: string) {
    super('RECORD_INVALID', `record ${index} of an append to stream ${stream} was refused: ${reason}. Nothing of this batch was appended.`, { details: { stream, index } });
  }
}

interface StreamHandle {
  readonly dir: string;
  meta: StreamMeta;
  readonly shards: Map<string, ShardLog>;
  router: HashKeyRouter<ShardLog>;
  /** Set while a reshard swaps the layout; appends wait for it. */
  gate: Promise<void> | undefined;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** 24 h, no size limit, `delete`; with `hold`, a shard may grow to 16 GiB before unread data goes. */
export const DEFAULT_RETENTION: RetentionPolicy = { maxAgeMs: 24 * 3600_000, maxBytes: undefined, unread: 'delete', holdCapBytes: 16 * 2 ** 30 };

/** The default {@link StreamLog}: segment files under `<dataDir>/streams/` (see docs/stream.md). */
export class EmbeddedStreamLog implements StreamLog {
  readonly #root: string;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #shardOptions: ShardOptions;
  readonly #maxRecordBytes: number;
  readonly #options: EmbeddedStreamLogOptions;
  readonly #streams = new Map<string, Promise<StreamHandle>>();
  readonly #stats = { appends: 0, recordsAppended: 0, fsyncs: 0, bytesRead: 0 };
  #timer: NodeJS.Timeout | undefined;
  #retentionRun: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: EmbeddedStreamLogOptions) {
    this.#options = options;
    this.#root = join(options.dataDir, 'streams');
    this.#logger = (options.logger ?? silentLogger).child({ component: 'stream_log' });
    this.#metrics = options.metrics ?? new Metrics();
    this.#maxRecordBytes = options.maxRecordBytes ?? 1 << 20;
    this.#shardOptions = {
      segmentBytes: options.segmentBytes ?? 64 << 20,
      indexIntervalBytes: options.indexIntervalBytes ?? 64 << 10,
      blockBytes: options.blockBytes ?? DEFAULT_BLOCK_BYTES,
      logger: this.#logger,
      countFsync: () => {
        this.#stats.fsyncs++;
      },
      readOnly: options.readOnly === true,
      countRead: (bytes) => {
        this.#stats.bytesRead += bytes;
      },
    };
    const every = options.readOnly === true ? 0 : (options.retentionIntervalMs ?? 60_000);
    if (every > 0) {
      this.#timer = setInterval(() => {
        this.enforceRetention()
          .then(() => this.publishLag())
          .catch((err: unknown) => this.#logger.error('stream log: retention or lag run failed', { err }));
      }, every);
      this.#timer.unref();
    }
  }

  #check(): void {
    if (this.#closed) throw new HydrantError('LOG_CLOSED', 'the stream log was closed; open a new EmbeddedStreamLog.');
  }

  #writable(what: string): void {
    this.#check();
    if (this.#options.readOnly === true) throw new HydrantError('LOG_READ_ONLY', `cannot ${what}: this stream log was opened read-only (readOnly: true).`);
  }

  #validName(name: string): void {
    if (!NAME.test(name)) throw new HydrantError('INVALID_STREAM_NAME', `stream name ${JSON.stringify(name)} is invalid: use 1-128 letters, digits, '_', '.', '-' starting with a letter or digit.`);
  }

  async #open(dir: string, meta: StreamMeta): Promise<StreamHandle> {
    const shards = new Map<string, ShardLog>();
    for (const s of meta.shards) shards.set(s.shardId, await ShardLog.open(s.shardId, join(dir, s.shardId), s.closed, this.#shardOptions, s.lastSequence));
    return { dir, meta, shards, router: this.#routerFor(meta, shards), gate: undefined };
  }

  #routerFor(meta: StreamMeta, shards: Map<string, ShardLog>): HashKeyRouter<ShardLog> {
    return new HashKeyRouter(meta.shards.filter((s) => !s.closed).map((s) => ({ range: { start: BigInt(s.start), end: BigInt(s.end) }, target: shards.get(s.shardId) as ShardLog })));
  }

  /**
   * The open handle of a stream. The promise is cached before the first await, so concurrent
   * callers share one handle (two handles would mean two writers on the same files).
   */
  #stream(name: string, create?: { readonly shards: number }): Promise<StreamHandle> {
    this.#check();
    let h = this.#streams.get(name);
    if (h === undefined) {
      this.#validName(name);
      const loading = this.#load(name, create);
      this.#streams.set(name, loading);
      loading.catch(() => {
        if (this.#streams.get(name) === loading) this.#streams.delete(name);
      });
      h = loading;
    }
    return h;
  }

  async #load(name: string, create: { readonly shards: number } | undefined): Promise<StreamHandle> {
    const dir = join(this.#root, name);
    const exists = await stat(join(dir, 'stream.json')).then(() => true, () => false);
    if (exists) return this.#open(dir, await readStreamMeta(dir));
    if (create === undefined) throw new NotFoundError(`stream ${JSON.stringify(name)} does not exist in ${this.#root}; create it with ensureStream or list streams with \`hydrant stream list\`.`, { stream: name });
    this.#writable(`create stream ${name}`);
    const now = Date.now();
    const meta: StreamMeta = {
      version: 1, name, createdAt: now, nextShardIndex: create.shards,
      shards: evenRanges(create.shards).map((r, i) => ({ shardId: shardIdFor(i), start: r.start.toString(), end: r.end.toString(), parentShardIds: [], closed: false, createdAt: now })),
    };
    await mkdir(dir, { recursive: true });
    await writeStreamMeta(dir, meta);
    return this.#open(dir, meta);
  }

  async ensureStream(name: string, options: { readonly shards: number }): Promise<StreamDescription> {
    this.#check();
    this.#validName(name);
    if (!Number.isInteger(options.shards) || options.shards < 1 || options.shards > 10_000) throw new HydrantError('INVALID_SHARD_COUNT', `stream ${name}: shard count must be an integer in 1..10000, got ${options.shards}`);
    const d = describeMeta((await this.#stream(name, options)).meta);
    const open = d.shards.filter((s) => !s.closed).length;
    if (open !== options.shards) this.#logger.warn('stream log: stream exists with a different shard count; it keeps its layout. Change it with reshard (split/merge).', { stream: name, openShards: open, requested: options.shards });
    return d;
  }

  async describeStream(name: string): Promise<StreamDescription> {
    return describeMeta((await this.#stream(name)).meta);
  }

  async listStreams(): Promise<string[]> {
    this.#check();
    const names = await readdir(this.#root).catch(() => [] as string[]);
    const out: string[] = [];
    for (const n of names) if (await stat(join(this.#root, n, 'stream.json')).then(() => true, () => false)) out.push(n);
    return out.sort();
  }

  async deleteStream(name: string): Promise<void> {
    this.#writable(`delete stream ${name}`);
    const h = await this.#stream(name);
    this.#streams.delete(name);
    for (const s of h.shards.values()) await s.close();
    await rm(h.dir, { recursive: true, force: true });
  }

  async append(stream: string, records: readonly PutRecord[]): Promise<PutResult[]> {
    this.#writable(`append to stream ${stream}`);
    let h = await this.#stream(stream);
    while (h.gate !== undefined) {
      await h.gate;
      h = await this.#stream(stream);
    }
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as PutRecord;
      if (r.data.length > this.#maxRecordBytes) throw new InvalidRecordError(stream, i, `data is ${r.data.length} bytes, above the limit of ${this.#maxRecordBytes} (maxRecordBytes)`);
      if (r.partitionKey.length < 1 || r.partitionKey.length > 256) throw new InvalidRecordError(stream, i, `partition key must be 1-256 characters, got ${r.partitionKey.length}`);
      if (r.explicitHashKey !== undefined) parseHashKey(r.explicitHashKey); // invalid even when one shard makes it moot
    }
    // Route synchronously (no await between routing and enqueueing) so a reshard cannot interleave.
    const only = h.router.single;
    if (only !== undefined) {
      const first = await only.append(records);
      const seqs = new Array<string>(records.length);
      formatSequenceRun(first, records.length, seqs);
      const out = new Array<PutResult>(records.length);
      const shardId = only.shardId;
      for (let j = 0; j < records.length; j++) out[j] = { shardId, sequence: seqs[j] as string };
      this.#stats.appends++;
      this.#stats.recordsAppended += records.length;
      return out;
    }
    const groups = new Map<ShardLog, { recs: PutRecord[]; idx: number[] }>();
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as PutRecord;
      const shard = h.router.route(r.partitionKey, r.explicitHashKey);
      let g = groups.get(shard);
      if (g === undefined) groups.set(shard, (g = { recs: [], idx: [] }));
      g.recs.push(r);
      g.idx.push(i);
    }
    const results = new Array<PutResult>(records.length);
    await Promise.all([...groups].map(async ([shard, g]) => {
      const first = await shard.append(g.recs);
      const seqs = new Array<string>(g.recs.length);
      formatSequenceRun(first, g.recs.length, seqs);
      for (let j = 0; j < g.idx.length; j++) results[g.idx[j] as number] = { shardId: shard.shardId, sequence: seqs[j] as string };
    }));
    this.#stats.appends++;
    this.#stats.recordsAppended += records.length;
    return results;
  }

  async appendPacked(stream: string, records: PackedRecords): Promise<PackedAppendResult> {
    this.#writable(`append to stream ${stream}`);
    let h = await this.#stream(stream);
    while (h.gate !== undefined) {
      await h.gate;
      h = await this.#stream(stream);
    }
    const n = records.count;
    const ends = records.ends;
    const keys = records.partitionKeys;
    for (let i = 0, start = 0; i < n; i++) {
      const end = ends[i] as number;
      if (end - start > this.#maxRecordBytes) throw new InvalidRecordError(stream, i, `data is ${end - start} bytes, above the limit of ${this.#maxRecordBytes} (maxRecordBytes)`);
      const k = keys[i] as string;
      if (k.length < 1 || k.length > 256) throw new InvalidRecordError(stream, i, `partition key must be 1-256 characters, got ${k.length}`);
      start = end;
    }
    if (n === 0) return { shards: [] };
    // Route synchronously (no await between routing and enqueueing) so a reshard cannot interleave.
    const router = h.router;
    const targets = router.targets;
    let parts: Array<{ shard: ShardLog; view: PackedView }>;
    if (targets.length === 1) parts = [{ shard: targets[0] as ShardLog, view: new PackedView(records) }];
    else {
      // Per shard, the indexes of its records in order (one Int32Array each, no object per record).
      const of = new Int32Array(n);
      const counts = new Int32Array(targets.length);
      for (let i = 0; i < n; i++) {
        const t = router.routeIndex(keys[i] as string);
        of[i] = t;
        counts[t] = (counts[t] as number) + 1;
      }
      const picks = Array.from(counts, (c) => new Int32Array(c));
      const fill = new Int32Array(targets.length);
      for (let i = 0; i < n; i++) {
        const t = of[i] as number;
        (picks[t] as Int32Array)[fill[t] as number] = i;
        fill[t] = (fill[t] as number) + 1;
      }
      parts = [];
      for (let t = 0; t < targets.length; t++) if ((counts[t] as number) > 0) parts.push({ shard: targets[t] as ShardLog, view: new PackedView(records, picks[t], counts[t]) });
    }
    const done = parts.map((p) => p.shard.append(p.view));
    const firsts = await Promise.all(done);
    this.#stats.appends++;
    this.#stats.recordsAppended += n;
    return {
      shards: parts.map((p, i) => ({ shardId: p.shard.shardId, count: p.view.count, firstSequence: formatSequence(firsts[i] as number), lastSequence: formatSequence((firsts[i] as number) + p.view.count - 1) })),
    };
  }

  async #shard(stream: string, shardId: string): Promise<ShardLog> {
    const s = (await this.#stream(stream)).shards.get(shardId);
    if (s === undefined) throw new NotFoundError(`stream ${stream} has no shard ${JSON.stringify(shardId)}; run \`hydrant stream describe\` for its shards.`, { stream, shardId });
    return s;
  }

  async read(stream: string, shardId: string, from: ShardIterator, limits?: ReadLimits): Promise<ReadResult> {
    return (await this.#shard(stream, shardId)).read(from, limits);
  }

  async waitForRecords(stream: string, shardId: string, afterSequence: string | null, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    return (await this.#shard(stream, shardId)).waitFor(afterSequence === null ? 0 : parseSequence(afterSequence), timeoutMs, signal);
  }

  async shardInfo(stream: string, shardId: string): Promise<ShardInfo> {
    const s = await this.#shard(stream, shardId);
    const first = s.firstSequence;
    const last = s.lastSequence;
    return {
      shardId, closed: s.closed, bytes: s.bytes,
      records: Math.max(0, last - first + 1),
      firstSequence: first <= last ? formatSequence(first) : null,
      lastSequence: last > 0 ? formatSequence(last) : null,
      lastArrivalTime: last > 0 ? s.lastArrival : null,
    };
  }

  stats(): EmbeddedStreamLogStats {
    return { ...this.#stats };
  }

  /** Splits an open shard at `newStartingHashKey` into two children. */
  async splitShard(stream: string, shardId: string, newStartingHashKey: string): Promise<StreamDescription> {
    return this.#apply(stream, (m) => planSplit(stream, m.shards, shardId, newStartingHashKey));
  }

  /** Merges two open, adjacent shards into one child. */
  async mergeShards(stream: string, shardId: string, adjacentShardId: string): Promise<StreamDescription> {
    return this.#apply(stream, (m) => planMerge(stream, m.shards, shardId, adjacentShardId));
  }

  async reshard(stream: string, count: number): Promise<StreamDescription> {
    return this.#apply(stream, (m) => planReshard(stream, m.shards, count));
  }

  /**
   * Applies a layout change: new appends wait at the gate, the closing shards drain and seal,
   * the new metadata is written durably, children open, then appends route to the new layout.
   */
  async #apply(stream: string, plan: (m: StreamMeta) => ReshardPlan): Promise<StreamDescription> {
    this.#writable(`change the shards of stream ${stream}`);
    let h = await this.#stream(stream);
    while (h.gate !== undefined) {
      await h.gate;
      h = await this.#stream(stream);
    }
    const p = plan(h.meta);
    let open!: () => void;
    h.gate = new Promise<void>((r) => (open = r));
    try {
      for (const id of p.close) await h.shards.get(id)?.closeForAppends();
      const now = Date.now();
      const next: StreamMeta = { ...h.meta, shards: h.meta.shards.map((s) => (p.close.includes(s.shardId) ? { ...s, closed: true, lastSequence: (h.shards.get(s.shardId) as ShardLog).lastSequence } : s)), nextShardIndex: h.meta.nextShardIndex + p.children.length };
      p.children.forEach((c, i) => next.shards.push({ shardId: shardIdFor(h.meta.nextShardIndex + i), start: c.range.start.toString(), end: c.range.end.toString(), parentShardIds: c.parentShardIds, closed: false, createdAt: now }));
      await writeStreamMeta(h.dir, next);
      for (const s of next.shards.slice(h.meta.shards.length)) h.shards.set(s.shardId, await ShardLog.open(s.shardId, join(h.dir, s.shardId), false, this.#shardOptions));
      h.meta = next;
      h.router = this.#routerFor(next, h.shards);
      this.#logger.info('stream log: resharded', { stream, closed: p.close, opened: next.shards.slice(-p.children.length).map((s) => s.shardId) });
      return describeMeta(next);
    } finally {
      h.gate = undefined;
      open();
    }
  }

  /** The retention policy that applies to a stream. */
  retentionFor(stream: string): RetentionPolicy {
    return { ...DEFAULT_RETENTION, ...this.#options.retention, ...this.#options.streams?.[stream] };
  }

  /** Runs retention on every stream now; returns what was deleted or held. */
  async enforceRetention(now: number = Date.now()): Promise<RetentionReport[]> {
    this.#writable('run retention');
    // One run at a time: two runs deciding on the same oldest segments would delete twice.
    const run = this.#retentionRun.then(() => this.#retain(now));
    this.#retentionRun = run.then(() => undefined, () => undefined);
    return run;
  }

  async #retain(now: number): Promise<RetentionReport[]> {
    const out: RetentionReport[] = [];
    for (const name of await this.listStreams()) {
      const h = await this.#stream(name);
      out.push(await enforceRetention({ stream: name, shards: [...h.shards.values()], policy: this.retentionFor(name), state: this.#options.state, logger: this.#logger, metrics: this.#metrics, now }));
    }
    return out;
  }

  /**
   * Publishes `hydrant_stream_consumer_lag_records` / `..._lag_ms` for every named consumer
   * (from the state store's checkpoints) of every stream. No-op without a state store.
   */
  async publishLag(now: number = Date.now()): Promise<void> {
    const state = this.#options.state;
    if (state === undefined) return;
    for (const stream of await this.listStreams()) {
      for (const consumer of (await listStreamCheckpoints(state, stream)).keys()) recordLagMetrics(this.#metrics, stream, consumer, await consumerLag(this, state, stream, consumer, now));
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    for (const h of this.#streams.values()) {
      const s = await h.catch(() => undefined);
      if (s !== undefined) for (const shard of s.shards.values()) await shard.close();
    }
    this.#streams.clear();
  }
}

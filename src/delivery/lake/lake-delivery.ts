/**
 * {@link LakeDelivery}: buffers records per output partition (prefix template + table + schema
 * version) and writes each buffer as one object into the lake (see object-writer.ts for the
 * exactly-once protocol), registering it in the catalog in the same state transaction that
 * advances the consumer checkpoint.
 *
 * Checkpoints: a shard's checkpoint may only advance to just below the first sequence still
 * held by any open buffer of that shard. After a crash the runner re-reads from there, and a
 * record whose (shard, buffer) already has a committed object covering its sequence is
 * skipped, because buffer identity and membership are deterministic functions of the record.
 *
 * Memory: every buffer is written out at `buffer_size_mib` or `buffer_interval_s`; when the sum
 * over all open buffers reaches `memory_budget_mib`, or their number `max_open_partitions`, the
 * oldest buffer is written first. All writes are serialized, and `write` awaits them
 * (backpressure).
 */
import type { Envelope } from '../../core/change-event.ts';
import { crashPoint } from '../../core/crash.ts';
import { HydrantError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { Metrics } from '../../core/metrics.ts';
import { incompatibility, listObjects, listTableVersions, tableVersionKey, type CatalogTableVersion } from '../../lake/catalog/catalog.ts';
import type { ObjectStore } from '../../lake/object-store.ts';
import type { StateOp, StateStore, StateValue } from '../../state/state-store.ts';
import type { StreamLog } from '../../stream/stream-log.ts';
import type { Delivery, DeliveryCommitter, DeliveryRecord } from '../delivery.ts';
import { CsvWriter } from '../formats/csv.ts';
import type { FormatWriter, OutputColumn } from '../formats/format.ts';
import { JsonlWriter } from '../formats/jsonl.ts';
import { ParquetWriter } from '../formats/parquet.ts';
import { eventTimeOf, partitionValues, safeSegment } from '../partitioning.ts';
import type { LakeDeliveryConfig } from './config.ts';
import { dmsKeyBase } from './dms-layout.ts';
import { ObjectNotifier } from './object-notifier.ts';
import { ObjectWriter } from './object-writer.ts';
import { Router, routingKey, type RoutingSettings } from './router.ts';
import { PartitionBuffer } from './partition-buffer.ts';
import { CHANGE_META, changeColumns, EVENT_COLUMNS, OPTIONAL_CHANGE_COLUMNS, optionalChangeColumns, SchemaResolver } from './rows.ts';

/** Too many open partitions and `on_partition_limit: fail`. */
export class PartitionLimitError extends HydrantError {
  constructor(delivery: string, limit: number, prefix: string) {
    super('LAKE_TOO_MANY_PARTITIONS', `lake delivery ${delivery}: more than ${limit} open partitions (the next one is ${JSON.stringify(prefix)}). The prefix template creates too many distinct values: raise max_open_partitions, use a coarser template, or set on_partition_limit: flush_oldest.`, { details: { delivery, limit } });
  }
}

export interface LakeDeliveryDeps {
  readonly name: string;
  readonly dataDir: string;
  readonly state: StateStore;
  readonly lake: ObjectStore;
  readonly log?: StreamLog | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Clock, for tests. */
  readonly now?: () => number;
}

interface Committed {
  readonly first: bigint;
  readonly last: bigint;
}

/** Committed ranges of one shard: routing hash → buffer id → ranges. */
type CommittedIndex = Map<string, Map<string, Committed[]>>;

export class LakeDelivery implements Delivery {
  readonly #c: LakeDeliveryConfig;
  readonly #d: LakeDeliveryDeps;
  readonly #format: FormatWriter;
  readonly #writer: ObjectWriter;
  readonly #router: Router;
  readonly #schemas: SchemaResolver;
  readonly #now: () => number;
  readonly #buffers = new Map<string, PartitionBuffer>();
  /** Committed (buffer → ranges) per shard, loaded on the shard's first write. */
  readonly #committed = new Map<string, CommittedIndex>();
  readonly #routers = new Map<string, Router>();
  #routingStored = false;
  readonly #lastSeen = new Map<string, string>();
  /** Shards whose committed ranges were pruned to the first record handed over. */
  readonly #pruned = new Set<string>();
  readonly #checkpoint = new Map<string, bigint>();
  readonly #tables = new Map<string, CatalogTableVersion[]>();
  #bytes = 0;
  #committer: DeliveryCommitter | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #timerError: unknown;
  readonly #notifier: ObjectNotifier | undefined;

  constructor(config: LakeDeliveryConfig, deps: LakeDeliveryDeps) {
    this.#c = config;
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    this.#format = config.format === 'parquet' ? new ParquetWriter({ memoryLimitMiB: config.duckdb_memory_mib, rowGroupSize: config.parquet_row_group_size }) : config.format === 'csv' ? new CsvWriter({ header: config.csv_header }) : new JsonlWriter();
    this.#writer = new ObjectWriter({ store: deps.lake, state: deps.state, format: this.#format, compression: config.compression, delivery: deps.name, dataDir: deps.dataDir, logger: deps.logger, csvHeader: config.csv_header });
    this.#router = new Router(config);
    this.#routers.set(this.#router.hash, this.#router);
    this.#schemas = new SchemaResolver(deps.state);
    this.#notifier = config.notify_stream === undefined ? undefined : new ObjectNotifier({ stream: config.notify_stream, delivery: deps.name, state: deps.state, log: deps.log, location: deps.lake.location });
  }

  async start(committer: DeliveryCommitter): Promise<void> {
    this.#committer = committer;
    await this.#writer.recover();
    await this.#notifier?.resend();
    if (this.#c.buffer_interval_s > 0) {
      const every = Math.min(1000, this.#c.buffer_interval_s * 1000);
      this.#timer = setInterval(() => {
        this.#serial(() => this.#flushExpired()).catch((err: unknown) => {
          this.#timerError ??= err;
        });
      }, every);
      this.#timer.unref();
    }
  }

  async write(shardId: string, records: readonly DeliveryRecord[]): Promise<void> {
    if (this.#timerError !== undefined) {
      const err = this.#timerError;
      this.#timerError = undefined;
      throw err;
    }
    await this.#serial(async () => {
      const committed = await this.#committedOf(shardId);
      // Records before the first one handed over are never handed over again.
      const first = records[0];
      if (first !== undefined && !this.#pruned.has(shardId)) {
        this.#prune(shardId, BigInt(first.record.sequence) - 1n);
        this.#pruned.add(shardId);
      }
      for (const dr of records) await this.#add(shardId, dr, committed);
      if (this.#c.buffer_interval_s === 0) await this.#flushAll();
      else await this.#flushExpired();
      // Nothing open on this shard any more: its checkpoint can move to the last record seen.
      await this.#advanceIdle(shardId);
      this.#gauges();
    });
  }

  async flush(): Promise<void> {
    await this.#serial(() => this.#flushAll());
  }

  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#queue.catch(() => {});
    await this.#format.close();
  }

  /** Open buffers and their estimated bytes (metrics, tests). */
  get openPartitions(): { readonly count: number; readonly bytes: number } {
    return { count: this.#buffers.size, bytes: this.#bytes };
  }

  #gauges(): void {
    const labels = { delivery: this.#d.name };
    this.#d.metrics.set('hydrant_lake_open_partitions', 'Open output partitions (buffers) of a lake delivery', labels, this.#buffers.size);
    this.#d.metrics.set('hydrant_lake_buffered_bytes', 'Estimated bytes held by open buffers of a lake delivery', labels, this.#bytes);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #committedOf(shard: string): Promise<CommittedIndex> {
    let m = this.#committed.get(shard);
    if (m === undefined) {
      m = new Map();
      for (const o of await listObjects(this.#d.state, this.#d.name, shard)) {
        if (o.kind === 'errors') continue;
        addRange(m, o.routing ?? this.#router.hash, o.buffer, { first: BigInt(o.firstSequence), last: BigInt(o.lastSequence) });
      }
      this.#committed.set(shard, m);
    }
    return m;
  }

  /** The router of a routing hash found in the catalog (its settings are in the state store). */
  async #routerOf(hash: string): Promise<Router> {
    let r = this.#routers.get(hash);
    if (r === undefined) {
      const settings = (await this.#d.state.get(routingKey(this.#d.name, hash))) as unknown as RoutingSettings | undefined;
      if (settings === undefined) throw new HydrantError('LAKE_ROUTING_UNKNOWN', `lake delivery ${this.#d.name}: the catalog names routing ${hash} but its settings are not in the state store (key ${routingKey(this.#d.name, hash)}); the state store is incomplete`);
      r = new Router(settings);
      this.#routers.set(hash, r);
    }
    return r;
  }

  /** Forgets committed ranges that end at or below `upTo`: the runner never re-reads them. */
  #prune(shard: string, upTo: bigint): void {
    const m = this.#committed.get(shard);
    if (m === undefined) return;
    for (const [hash, byId] of m) {
      for (const [id, ranges] of byId) {
        const keep = ranges.filter((r) => r.last > upTo);
        if (keep.length === 0) byId.delete(id);
        else if (keep.length !== ranges.length) byId.set(id, keep);
      }
      if (byId.size === 0) m.delete(hash);
    }
  }

  async #add(shard: string, dr: DeliveryRecord, committed: CommittedIndex): Promise<void> {
    const e: Envelope = dr.envelope;
    const rec = dr.record;
    const input = { envelope: e, arrivalTime: rec.arrivalTime, partitionKeys: dr.partitionKeys, delivery: this.#d.name };
    const { prefix, id, table, version, isLoad } = this.#router.route(input);
    // Already in a committed object (a replay after a crash): skip. Objects written with other
    // routing settings are checked with those settings. (Empty outside replays.)
    if (committed.size > 0) {
      const seq = BigInt(rec.sequence);
      for (const [hash, byId] of committed) {
        const rid = hash === this.#router.hash ? id : (await this.#routerOf(hash)).route(input).id;
        const done = byId.get(rid);
        if (done !== undefined && done.some((r) => r.first <= seq && seq <= r.last)) {
          this.#lastSeen.set(shard, rec.sequence);
          return;
        }
      }
    }
    let b = this.#buffers.get(`${shard}\u0000${id}`);
    if (b === undefined) {
      if (this.#buffers.size >= this.#c.max_open_partitions) {
        if (this.#c.on_partition_limit === 'fail') throw new PartitionLimitError(this.#d.name, this.#c.max_open_partitions, prefix);
        this.#d.metrics.inc('hydrant_lake_partition_limit_flushes_total', 'Buffers written early because max_open_partitions was reached', { delivery: this.#d.name });
        await this.#flushOldest();
      }
      const schema = e.op === 'event' ? null : await this.#schemas.resolve(e);
      b = new PartitionBuffer({ id, shard, prefix, kind: e.op === 'event' ? 'events' : 'changes', table, schemaVersion: version, schema, firstCommitMicros: e.op === 'event' ? undefined : typeof e.source.commitTime.micros === 'bigint' ? e.source.commitTime.micros : 0n, isLoad, now: this.#now() });
      this.#buffers.set(`${shard}\u0000${id}`, b);
    }
    const before = b.bytes;
    b.add(rec, e, eventTimeOf(input));
    // Only now is the record held by a buffer, so a checkpoint may pass the records before it.
    this.#lastSeen.set(shard, rec.sequence);
    this.#bytes += b.bytes - before;
    if (b.bytes >= this.#c.buffer_size_mib * 1024 * 1024) await this.#flushBuffer(b);
    while (this.#bytes > this.#c.memory_budget_mib * 1024 * 1024 && this.#buffers.size > 0) await this.#flushOldest();
  }

  async #flushOldest(): Promise<void> {
    let oldest: PartitionBuffer | undefined;
    for (const b of this.#buffers.values()) if (oldest === undefined || b.createdAt < oldest.createdAt) oldest = b;
    if (oldest !== undefined) await this.#flushBuffer(oldest);
  }

  async #flushExpired(): Promise<void> {
    const limit = this.#now() - this.#c.buffer_interval_s * 1000;
    for (const b of [...this.#buffers.values()]) if (b.createdAt <= limit) await this.#flushBuffer(b);
  }

  async #flushAll(): Promise<void> {
    for (const b of [...this.#buffers.values()]) await this.#flushBuffer(b);
    for (const shard of this.#lastSeen.keys()) await this.#advanceIdle(shard);
  }

  /** Moves the checkpoint of a shard without open buffers to the last record seen. */
  async #advanceIdle(shard: string): Promise<void> {
    const last = this.#lastSeen.get(shard);
    if (last === undefined || this.#committer === undefined) return;
    for (const b of this.#buffers.values()) if (b.shard === shard) return;
    const seq = BigInt(last);
    const cur = this.#checkpoint.get(shard);
    if (cur !== undefined && cur >= seq) return;
    await this.#committer.commit(shard, last, []);
    this.#checkpoint.set(shard, seq);
  }

  async #columnsOf(b: PartitionBuffer): Promise<OutputColumn[]> {
    if (b.kind === 'events') return [...EVENT_COLUMNS];
    const optional = { unchanged: b.hasUnchanged, oldKey: b.hasOldKey };
    const cols = changeColumns(b.schema, b.images(), optional);
    if (this.#c.layout !== 'dms') return cols;
    const data = cols.filter((c) => !OPTIONAL_CHANGE_COLUMNS.has(c.name) && !CHANGE_META.some((m) => m.name === c.name));
    const head: OutputColumn[] = [{ name: 'Op', type: { kind: 'string' } }];
    if (this.#c.dms_commit_timestamp) head.push({ name: '_dms_commit_timestamp', type: { kind: 'timestamptz' } });
    return [...head, ...data, ...CHANGE_META, ...optionalChangeColumns(optional)];
  }

  /** Schema-version ops for the catalog when this buffer's version is new there. */
  async #tableOps(b: PartitionBuffer, columns: readonly OutputColumn[]): Promise<StateOp[]> {
    let versions = this.#tables.get(b.table);
    if (versions === undefined) {
      versions = await listTableVersions(this.#d.state, b.table);
      this.#tables.set(b.table, versions);
    }
    if (versions.some((v) => v.version === b.schemaVersion)) return [];
    const prev = versions.filter((v) => v.version < b.schemaVersion).at(-1);
    const why = prev === undefined ? undefined : incompatibility(prev.columns, columns);
    // `_unchanged` and `_old_key` are in some objects only; the version's column list stays the same whichever object registers it.
    const entry: CatalogTableVersion = { table: b.table, version: b.schemaVersion, columns: columns.filter((c) => !OPTIONAL_CHANGE_COLUMNS.has(c.name)).map((c) => ({ name: c.name, type: c.type })), registeredAt: this.#now(), ...(why === undefined || prev === undefined ? {} : { incompatibleWith: prev.version }) };
    if (why !== undefined) this.#d.logger.warn(`lake: table ${b.table} schema version ${b.schemaVersion} is incompatible with version ${prev?.version} (${why}); it starts a new schema version and the pipeline goes on. Queries read the column with a common type (e.g. text).`, { table: b.table, version: b.schemaVersion });
    versions.push(entry);
    versions.sort((x, y) => x.version - y.version);
    return [{ type: 'put', key: tableVersionKey(b.table, b.schemaVersion), value: entry as unknown as StateValue }];
  }

  async #keyBase(b: PartitionBuffer): Promise<string> {
    if (this.#c.layout === 'dms' && b.kind === 'changes') {
      const loads = b.isLoad ? (await listObjects(this.#d.state, this.#d.name)).filter((o) => o.kind === 'changes' && o.key.startsWith(`${b.prefix}/LOAD`)).length : 0;
      return dmsKeyBase(b.prefix, b.isLoad, loads, b.firstCommitMicros ?? 0n, b.shard, b.first);
    }
    return `${b.prefix}/${safeSegment(this.#d.name)}-${safeSegment(b.shard)}-${b.first}-${b.last}`;
  }

  async #flushBuffer(b: PartitionBuffer): Promise<void> {
    const committer = this.#committer;
    if (committer === undefined) throw new HydrantError('LAKE_NOT_STARTED', `lake delivery ${this.#d.name}: write before start()`);
    const columns = await this.#columnsOf(b);
    const tableOps = await this.#tableOps(b, columns);
    const { ops, objects } = await this.#writer.write({
      shard: b.shard, buffer: b.id, routing: this.#router.hash, kind: b.kind, table: b.table, keyBase: await this.#keyBase(b), partition: partitionValues(b.prefix), schemaVersion: b.schemaVersion,
      columns, rows: b, records: b.records, first: b.first, last: b.last, minTime: b.minTime, maxTime: b.maxTime,
    });
    let cp = BigInt(this.#lastSeen.get(b.shard) ?? b.last);
    for (const o of this.#buffers.values()) if (o !== b && o.shard === b.shard && BigInt(o.first) - 1n < cp) cp = BigInt(o.first) - 1n;
    const prev = this.#checkpoint.get(b.shard);
    if (prev !== undefined && prev > cp) cp = prev;
    const notifyOps = this.#notifier?.pendingOps(objects) ?? [];
    // The routing settings are stored once, so a later replay can recompute these buffer ids.
    const routingOps: StateOp[] = this.#routingStored ? [] : [{ type: 'put', key: routingKey(this.#d.name, this.#router.hash), value: this.#router.settings as unknown as StateValue }];
    try {
      await committer.commit(b.shard, cp.toString(), [...routingOps, ...tableOps, ...ops, ...notifyOps]);
    } catch (err) {
      // The schema-version entry was not committed either: read it again on the retry.
      this.#tables.delete(b.table);
      throw err;
    }
    // Catalog entry and checkpoint are one transaction; this point is after both.
    crashPoint('lake.after-catalog-before-checkpoint');
    // Only a committed buffer leaves memory: after a failed commit it is retried (its intent
    // names what the failed attempt wrote, see ObjectWriter).
    this.#buffers.delete(`${b.shard}\u0000${b.id}`);
    this.#bytes -= b.bytes;
    this.#checkpoint.set(b.shard, cp);
    this.#routingStored = true;
    addRange(await this.#committedOf(b.shard), this.#router.hash, b.id, { first: BigInt(b.first), last: BigInt(b.last) });
    this.#prune(b.shard, cp);
    for (const o of objects) {
      this.#d.logger.debug('lake: object committed', { key: o.key, rows: o.rows, bytes: o.bytes, shard: o.shard, first: o.firstSequence, last: o.lastSequence, checkpoint: cp.toString() });
      this.#d.metrics.inc('hydrant_lake_objects_total', 'Objects committed to the lake', { delivery: this.#d.name, kind: o.kind });
      this.#d.metrics.inc('hydrant_lake_rows_total', 'Rows committed to the lake', { delivery: this.#d.name, kind: o.kind }, o.rows);
      this.#d.metrics.inc('hydrant_lake_bytes_total', 'Bytes committed to the lake', { delivery: this.#d.name }, o.bytes);
    }
    if (notifyOps.length > 0) await this.#notifier?.notify(objects);
  }
}

function addRange(m: CommittedIndex, hash: string, id: string, r: Committed): void {
  let byId = m.get(hash);
  if (byId === undefined) {
    byId = new Map();
    m.set(hash, byId);
  }
  const list = byId.get(id) ?? [];
  list.push(r);
  byId.set(id, list);
}

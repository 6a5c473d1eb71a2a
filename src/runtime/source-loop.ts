/**
 * One source's loop: pull a batch, make it durable in the stream, record its position, ack.
 *
 * Pull-based, so memory is bounded by two batches per source: while one batch is being made
 * durable (its append waits on the log's fsync, then its position commits), the source is
 * already asked for the next one, so decoding overlaps the fsync. `ack(batch)` is called only
 * after that batch is durable and committed, after the following `next()` has returned, and
 * never concurrently with `next()`. Per batch, in this order:
 *   1. new table schemas, mapped through the source-edge transforms, are recorded in the state
 *      store (events must never name a schema version a reader cannot find; see edge-schemas.ts);
 *   2. source-edge transforms run; failures go to `errors/<source>/processing-failed/`;
 *   3. the events are checked against their recorded schemas (a column the schema lacks stops
 *      the pipeline: the lake would drop it) and appended to the stream (durable when
 *      `append` resolves);
 *   4. `sources/<name>/position` and the per-shard sequences commit in one state transaction;
 *   5. `source.ack(position)` lets the source release the data upstream.
 * A crash between 3 and 4 is repaired on start by {@link recoverSourcePosition}: the source
 * resumes from the committed position, and re-sent events whose position is already in the
 * stream are dropped, not appended twice.
 */
import { encodeEnvelope, partitionKeyOf } from '../core/change-event.ts';
import { crashPoint } from '../core/crash.ts';
import { decodeEncodedEvents, encodedRecord, type EncodedEvents } from '../core/encoded-events.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { batchSize, type Source, type SourceBatch } from '../sources/source.ts';
import type { StateOp, StateStore, StateValue } from '../state/state-store.ts';
import type { PutRecord, StreamLog } from '../stream/stream-log.ts';
import type { TransformItem } from '../transforms/transform.ts';
import { withBackoff } from './backoff.ts';
import { EdgeSchemas } from './edge-schemas.ts';
import type { ErrorSink } from './error-sink.ts';
import { recoverSourcePosition } from './source-recovery.ts';
import { sourcePositionKey, sourceShardsKey } from './state-keys.ts';
import { applyChain, type ChainFailure, type NamedTransform } from './transform-chain.ts';

/** What a source loop needs. */
export interface SourceLoopDeps {
  readonly name: string;
  readonly source: Source;
  readonly stream: string;
  readonly transforms: readonly NamedTransform[];
  readonly state: StateStore;
  readonly log: StreamLog;
  readonly errors: ErrorSink;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Stop once the source reports caughtUp with no events. */
  readonly untilCaughtUp: boolean;
}

/** Runs one source until stopped (or caught up in `untilCaughtUp` mode). */
export class SourceLoop {
  readonly #d: SourceLoopDeps;
  readonly #schemas: EdgeSchemas;
  #shards: Record<string, string> = {};
  #committed: string | null = null;
  /** Positions found in the stream by recovery (dropped when re-sent), until the committed position passes `#pendingMax`. */
  #found: ReadonlySet<string> = new Set();
  #pendingMax: string | null = null;
  /** Scan start of the recovery that found `#found`; committed instead of `#shards` while it is pending. */
  #scanFrom: Record<string, string> = {};
  #caughtUp = false;

  constructor(deps: SourceLoopDeps) {
    this.#d = deps;
    this.#schemas = new EdgeSchemas(deps.name, deps.transforms, deps.state, deps.logger);
  }

  /** true once the source reported caughtUp with an empty batch (and nothing since). */
  get caughtUp(): boolean {
    return this.#caughtUp;
  }

  /** The last committed position. */
  get position(): string | null {
    return this.#committed;
  }

  /** Runs until `signal` aborts; the batch in flight is always finished (made durable) first. */
  async run(signal: AbortSignal): Promise<void> {
    const d = this.#d;
    const rec = await recoverSourcePosition(d.state, d.log, d.stream, d.name, d.logger);
    this.#shards = { ...rec.shards };
    this.#committed = rec.stored;
    this.#found = rec.found;
    this.#pendingMax = rec.maxFound;
    this.#scanFrom = { ...rec.storedShards };
    await withBackoff(`source ${d.name}: start`, d.logger, signal, () => d.source.start(rec.stored));
    if (rec.stored !== null) await d.source.ack(rec.stored);
    d.logger.info('source started', { source: d.name, stream: d.stream, resumeAfter: rec.stored });
    // One batch's durable steps (append + position commit) overlap the source's work on the
    // next batch: `next()` decodes while the previous append waits on its fsync. `ack` stays
    // strictly ordered after both (never concurrent with `next()`), see the module comment.
    let pending: { readonly done: Promise<void>; readonly position: string } | undefined;
    try {
      while (!signal.aborted) {
        const batch = await withBackoff(`source ${d.name}: next`, d.logger, signal, () => d.source.next(signal));
        if (pending !== undefined) {
          await pending.done;
          crashPoint('runner.after-position-before-ack');
          await d.source.ack(pending.position);
          pending = undefined;
        }
        const { done } = await this.#handle(batch);
        // Awaited after the next `next()`; a failure meanwhile must not count as unhandled.
        done.catch(() => {});
        pending = { done, position: batch.position };
        if (batchSize(batch) === 0 && batch.caughtUp) {
          // Caught up means everything so far is durable and acknowledged.
          await done;
          pending = undefined;
          crashPoint('runner.after-position-before-ack');
          await d.source.ack(batch.position);
          this.#caughtUp = true;
          if (d.untilCaughtUp) break;
        } else {
          this.#caughtUp = false;
        }
      }
    } finally {
      // The batch in flight is always finished; its ack only when it became durable.
      if (pending !== undefined) {
        await pending.done;
        crashPoint('runner.after-position-before-ack');
        await d.source.ack(pending.position);
      }
    }
  }

  /**
   * Prepares a batch (duplicates dropped, schemas recorded, transforms applied) and starts its
   * durable steps; resolves to `{ done }`, the promise of those steps (append, then position
   * commit). Wrapped in an object: an async function returning a bare promise would wait for it.
   */
  async #handle(batch: SourceBatch): Promise<{ readonly done: Promise<void> }> {
    const d = this.#d;
    const enc = batch.encoded;
    if (enc !== undefined && d.transforms.length === 0) return this.#handleEncoded(batch, enc);
    // Encoded records on an edge with transforms (a source that ignored `encodedBatches`): the
    // transforms need the objects.
    const all = enc !== undefined && enc.count > 0 ? decodeEncodedEvents(enc) : batch.events;
    const committed = this.#committed;
    const found = this.#found;
    // Events at or below the committed position, or found in the stream by recovery, are
    // already there (see the module comment and source-recovery.ts).
    const fresh = committed === null && found.size === 0 ? all : all.filter((e) => this.#isFresh(e.source.position));
    this.#countDuplicates(all.length - fresh.length);
    await this.#schemas.record(batch.schemas);
    const now = Date.now();
    // An edge without transforms passes its events as they are: no TransformItem per event.
    const out = d.transforms.length === 0
      ? { items: null, events: fresh, failed: [] as ChainFailure[] }
      : await applyChain(d.transforms, fresh.map((envelope, i): TransformItem => ({ id: String(i), envelope, arrivalTime: now }))).then((r) => ({ ...r, events: null }));
    if (out.failed.length > 0) {
      await d.errors.write(out.failed.map((f) => ({
        component: d.name,
        transform: f.component,
        id: `${d.name}-${f.item.envelope.source.position || `${now}-${f.item.id}`}`,
        raw: encodeEnvelope(f.item.envelope),
        reason: f.reason,
        attempts: f.attempts,
        arrivalTime: f.item.arrivalTime,
        context: { source: d.name, stream: d.stream },
      })));
    }
    const events = out.events ?? out.items.map((i) => i.envelope);
    if (events.length > 0) await this.#schemas.check(events);
    // One pass: encode, key and count per table together.
    const puts: PutRecord[] = [];
    const perTable = new Map<string, number>();
    for (const e of events) {
      puts.push({ partitionKey: partitionKeyOf(e), data: encodeEnvelope(e) });
      const t = e.op === 'event' ? '' : e.source.table;
      perTable.set(t, (perTable.get(t) ?? 0) + 1);
    }
    return { done: this.#durable(batch, puts.length > 0 ? () => this.#append(puts, perTable) : undefined) };
  }

  /**
   * A batch the source encoded itself (no transforms on this edge): its records go to the log
   * as they are. They are not parsed back for the schema check: the source wrote them from the
   * same relation it recorded the schema from (see encoded-events.ts).
   */
  async #handleEncoded(batch: SourceBatch, enc: EncodedEvents): Promise<{ readonly done: Promise<void> }> {
    // Positions increase within a batch: when the first is above the committed position and
    // recovery found nothing, every record is fresh (no comparison per record).
    const first = enc.positions[0];
    const all = this.#found.size === 0 && (this.#committed === null || (first !== undefined && first !== '' && first > this.#committed));
    const packed = all && enc.count > 0 && this.#d.log.appendPacked !== undefined;
    // Nothing to drop and a log that takes packed records: no object or view per record.
    const puts: PutRecord[] | undefined = packed ? undefined : [];
    const perTable = new Map<string, number>();
    let lastTable = '';
    let run = 0;
    let kept = 0;
    for (let i = 0; i < enc.count; i++) {
      if (!all && !this.#isFresh(enc.positions[i] as string)) continue;
      puts?.push({ partitionKey: enc.partitionKeys[i] as string, data: encodedRecord(enc, i) });
      kept++;
      // Tables come in runs (a transaction, a snapshot chunk): count runs, not every event.
      const t = enc.tables[i] as string;
      if (t !== lastTable && run > 0) {
        perTable.set(lastTable, (perTable.get(lastTable) ?? 0) + run);
        run = 0;
      }
      lastTable = t;
      run++;
    }
    if (run > 0) perTable.set(lastTable, (perTable.get(lastTable) ?? 0) + run);
    this.#countDuplicates(enc.count - kept);
    await this.#schemas.record(batch.schemas);
    if (puts === undefined) return { done: this.#durable(batch, () => this.#appendPacked(enc, perTable)) };
    return { done: this.#durable(batch, puts.length > 0 ? () => this.#append(puts, perTable) : undefined) };
  }

  /** Appends a whole encoded batch packed (no object or view per record). */
  async #appendPacked(enc: EncodedEvents, perTable: ReadonlyMap<string, number>): Promise<void> {
    const d = this.#d;
    const r = await (d.log.appendPacked as NonNullable<StreamLog['appendPacked']>)(d.stream, enc);
    for (const s of r.shards) this.#shards[s.shardId] = s.lastSequence;
    this.#countAppended(perTable, enc.bytes.byteLength);
  }

  /** Not yet in the stream: above the committed position and not found there by recovery. */
  #isFresh(p: string): boolean {
    const committed = this.#committed;
    return p === '' || ((committed === null || p > committed) && !this.#found.has(p));
  }

  #countDuplicates(n: number): void {
    if (n > 0) this.#d.metrics.inc('hydrant_source_duplicates_dropped_total', 'Events a source re-sent at or below its durable position (dropped, not appended again).', { source: this.#d.name }, n);
  }

  /** Runs `append` (undefined: nothing to append), then commits the batch's position. */
  async #durable(batch: SourceBatch, append: (() => Promise<void>) | undefined): Promise<void> {
    if (append !== undefined) await append();
    crashPoint('runner.after-append-before-position');
    // The committed position never moves backwards, even when a source re-sends old batches.
    const position = this.#committed !== null && batch.position < this.#committed ? this.#committed : batch.position;
    if (position !== this.#committed || append !== undefined) await this.#commitPosition(position);
  }

  async #append(puts: readonly PutRecord[], perTable: ReadonlyMap<string, number>): Promise<void> {
    const d = this.#d;
    let bytes = 0;
    for (let i = 0; i < puts.length; i++) bytes += (puts[i] as PutRecord).data.byteLength;
    const results = await d.log.append(d.stream, puts);
    // Results keep per-shard order, so the last result of a shard is its highest sequence.
    for (const r of results) this.#shards[r.shardId] = r.sequence;
    this.#countAppended(perTable, bytes);
  }

  #countAppended(perTable: ReadonlyMap<string, number>, bytes: number): void {
    const d = this.#d;
    for (const [table, n] of perTable) d.metrics.inc('hydrant_source_records_total', 'Records a source appended to its stream.', { source: d.name, table }, n);
    d.metrics.inc('hydrant_source_bytes_total', 'Bytes a source appended to its stream.', { source: d.name }, bytes);
  }

  async #commitPosition(position: string): Promise<void> {
    const d = this.#d;
    // While recovered records lie beyond the committed position, keep the scan start where it
    // was, so that a crash now finds them again instead of appending them twice.
    const pending = this.#pendingMax !== null && position < this.#pendingMax;
    const ops: StateOp[] = [
      { type: 'put', key: sourcePositionKey(d.name), value: position },
      { type: 'put', key: sourceShardsKey(d.name), value: { ...(pending ? this.#scanFrom : this.#shards) } as StateValue },
    ];
    await d.state.commit(ops);
    this.#committed = position;
    if (!pending && this.#pendingMax !== null) {
      this.#pendingMax = null;
      this.#found = new Set();
    }
  }
}

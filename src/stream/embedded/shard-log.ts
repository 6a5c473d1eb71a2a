/**
 * One shard of the embedded log: its segments (oldest first; the last one is active), its
 * writer, reads across segments and waiters. A closed shard (split or merged away) takes no
 * appends and its reads end with `next: null`.
 */
import { mkdir, readdir, unlink } from 'node:fs/promises';
import { crashPoint } from '../../core/crash.ts';
import type { Logger } from '../../core/logger.ts';
import type { BatchView } from './block-format.ts';
import type { PutRecord, ReadLimits, ReadResult, ShardIterator } from '../stream-log.ts';
import { formatSequence, parseSequence } from '../sequence.ts';
import { createSegment, emptySegment, openSegment, sealSegment, segmentPaths, syncDir } from './segment-files.ts';
import { collectorFull, type Collector, type Seek, type Segment } from './segment.ts';
import { ShardWriter } from './shard-writer.ts';

/** Tunables shared by every shard of a log. */
export interface ShardOptions {
  readonly segmentBytes: number;
  readonly indexIntervalBytes: number;
  /** Bound on a block's size (one appended batch is one block or several). */
  readonly blockBytes: number;
  readonly logger: Logger;
  readonly countFsync: () => void;
  /** Counts bytes read from segment files. */
  readonly countRead: (bytes: number) => void;
  /** Open without changing any file (no recovery truncation, no new segments, no appends). */
  readonly readOnly: boolean;
}

interface Waiter {
  readonly after: number;
  readonly done: (v: boolean) => void;
}

/** One shard: segments, writer, reads and waiters. */
export class ShardLog {
  readonly shardId: string;
  readonly dir: string;
  readonly #options: ShardOptions;
  readonly #segments: Segment[];
  readonly #writer: ShardWriter;
  #waiters: Waiter[] = [];
  #closed: boolean;
  #lastSequence: number;
  #lastArrival: number;

  private constructor(shardId: string, dir: string, options: ShardOptions, segments: Segment[], closed: boolean) {
    this.shardId = shardId;
    this.dir = dir;
    this.#options = options;
    this.#segments = segments;
    this.#closed = closed;
    const last = segments.at(-1) as Segment;
    this.#lastSequence = last.lastSequence;
    this.#lastArrival = last.lastArrival;
    this.#writer = new ShardWriter(`${dir}`, {
      activeSegment: () => this.#activeForAppend(),
      committed: (seq, arrival) => this.#committed(seq, arrival),
      countFsync: options.countFsync,
    }, this.#lastSequence + 1, this.#lastArrival, options.indexIntervalBytes, options.blockBytes);
  }

  /**
   * Opens (recovering) or creates the shard in `dir`. `closedLastSequence` (from the stream's
   * metadata) stands in for a closed shard whose files retention has deleted.
   */
  static async open(shardId: string, dir: string, closed: boolean, options: ShardOptions, closedLastSequence?: number): Promise<ShardLog> {
    if (!options.readOnly) await mkdir(dir, { recursive: true });
    const bases = (await readdir(dir).catch(() => [] as string[])).filter((f) => /^[0-9]{20}\.seg$/.test(f)).map((f) => parseSequence(f.slice(0, 20))).sort((a, b) => a - b);
    const segments: Segment[] = [];
    for (let i = 0; i < bases.length; i++) {
      const active = i === bases.length - 1 && !closed;
      const seg = await openSegment(dir, bases[i] as number, active, options.indexIntervalBytes, options.logger, options.readOnly, options.blockBytes);
      if (seg !== undefined) segments.push(seg);
    }
    // Damage at the end of a sealed segment hides its last sequences; its successor's base tells.
    for (let i = 0; i + 1 < segments.length; i++) {
      const s = segments[i] as Segment;
      s.lastSequence = Math.max(s.lastSequence, (segments[i + 1] as Segment).baseSequence - 1);
    }
    if (segments.length === 0) {
      if (closed && closedLastSequence !== undefined) segments.push(emptySegment(dir, closedLastSequence + 1));
      else segments.push(options.readOnly ? emptySegment(dir, 1) : await createSegment(dir, 1, Date.now()));
    }
    const shard = new ShardLog(shardId, dir, options, segments, closed);
    return shard;
  }

  /** True once split or merged away. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sequence of the newest acknowledged record (0 when none). */
  get lastSequence(): number {
    return this.#lastSequence;
  }

  /** Arrival time of the newest acknowledged record. */
  get lastArrival(): number {
    return this.#lastArrival;
  }

  /** Sequence of the oldest record still kept (lastSequence + 1 when none). */
  get firstSequence(): number {
    const first = this.#segments.find((s) => s.records > 0 || s.corrupt.length > 0);
    return first === undefined ? this.#lastSequence + 1 : first.baseSequence;
  }

  /** Bytes kept on disk by this shard's segments. */
  get bytes(): number {
    return this.#segments.reduce((s, x) => s + x.bytes, 0);
  }

  /** The segments, oldest first (read-only view for retention and describe). */
  get segments(): readonly Segment[] {
    return this.#segments;
  }

  /** Appends records in order; resolves to the first sequence once durable. */
  append(records: readonly PutRecord[] | BatchView): Promise<number> {
    return this.#writer.enqueue(records);
  }

  /** The segment appends go to; synchronous unless it is full and must roll. */
  #activeForAppend(): Segment | Promise<Segment> {
    const active = this.#segments.at(-1) as Segment;
    if (active.dataEnd < this.#options.segmentBytes || active.records === 0) return active;
    return this.#roll(active);
  }

  async #roll(active: Segment): Promise<Segment> {
    await sealSegment(active);
    crashPoint('log.after-seal-before-roll');
    const next = await createSegment(this.dir, active.lastSequence + 1, Date.now());
    this.#segments.push(next);
    return next;
  }

  #committed(lastSequence: number, lastArrival: number): void {
    this.#lastSequence = lastSequence;
    this.#lastArrival = lastArrival;
    if (this.#waiters.length === 0) return;
    const keep: Waiter[] = [];
    for (const w of this.#waiters) (w.after < lastSequence ? w.done(true) : keep.push(w));
    this.#waiters = keep;
  }

  /** Reads records from `from`, bounded by `limits`. */
  async read(from: ShardIterator, limits: ReadLimits = {}): Promise<ReadResult> {
    if (from.type === 'LATEST') {
      return { records: [], next: this.#closed ? null : { type: 'AFTER_SEQUENCE_NUMBER', sequence: formatSequence(this.#lastSequence) }, millisBehindLatest: 0 };
    }
    const seek: Seek =
      from.type === 'TRIM_HORIZON' ? { seq: 0 }
      : from.type === 'AT_SEQUENCE_NUMBER' ? { seq: parseSequence(from.sequence) }
      : from.type === 'AFTER_SEQUENCE_NUMBER' ? { seq: parseSequence(from.sequence) + 1 }
      : { time: from.timestamp };
    const c: Collector = { shardId: this.shardId, records: [], bytes: 0, maxRecords: Math.max(1, limits.maxRecords ?? 10_000), maxBytes: Math.max(1, limits.maxBytes ?? 8 << 20), stopped: false, diskBytes: 0 };
    const segments = [...this.#segments];
    try {
      for (let i = this.#firstSegmentFor(segments, seek); i < segments.length && !collectorFull(c); i++) {
        const s = segments[i] as Segment;
        if ('seq' in seek && s.lastSequence < seek.seq && s.corrupt.length === 0) continue;
        await s.collect(seek, c);
      }
    } finally {
      this.#options.countRead(c.diskBytes);
    }
    const last = c.records.at(-1);
    if (last === undefined) return { records: [], next: this.#closed ? null : from, millisBehindLatest: 0 };
    const lastSeq = parseSequence(last.sequence);
    return {
      records: c.records,
      next: this.#closed && lastSeq >= this.#lastSequence ? null : { type: 'AFTER_SEQUENCE_NUMBER', sequence: last.sequence },
      millisBehindLatest: Math.max(0, this.#lastArrival - last.arrivalTime),
    };
  }

  #firstSegmentFor(segments: readonly Segment[], seek: Seek): number {
    if ('seq' in seek) {
      let lo = 0;
      let hi = segments.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if ((segments[mid] as Segment).baseSequence <= seek.seq) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    }
    const i = segments.findIndex((s) => s.records > 0 && s.lastArrival >= seek.time);
    return i < 0 ? segments.length : i;
  }

  /** Resolves true once a record after `after` (0 = any) exists; false on timeout, abort or close. */
  waitFor(after: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.#lastSequence > after) return Promise.resolve(true);
    if (this.#closed || signal?.aborted === true || timeoutMs <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const finish = (v: boolean): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(v);
      };
      const onAbort = (): void => finish(false);
      const waiter: Waiter = { after, done: finish };
      const timer = setTimeout(() => finish(false), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Waits for queued appends to become durable. */
  drain(): Promise<void> {
    return this.#writer.drain();
  }

  /** Stops appends for good (split/merge): drains, seals the active segment. */
  async closeForAppends(): Promise<void> {
    await this.#writer.drain();
    this.#closed = true;
    const active = this.#segments.at(-1) as Segment;
    if (!active.sealed) await sealSegment(active);
    for (const w of this.#waiters) w.done(false);
    this.#waiters = [];
  }

  /** Deletes the oldest sealed segments for which `drop` returns true, stopping at the first kept one. */
  async deleteOldest(drop: (s: Segment) => boolean): Promise<Segment[]> {
    const removed: Segment[] = [];
    // An open shard's newest segment always stays (appends go there); a closed shard's may go,
    // its last sequence lives on in stream.json and in an in-memory stand-in.
    while (this.#segments.length > 1 || (this.#closed && this.#segments.length === 1)) {
      const s = this.#segments[0] as Segment;
      if (!s.sealed || !drop(s)) break;
      this.#segments.shift();
      removed.push(s);
      await unlink(s.path).catch(() => {});
      await unlink(segmentPaths(this.dir, s.baseSequence).indexPath).catch(() => {});
      await s.release();
    }
    if (this.#segments.length === 0) this.#segments.push(emptySegment(this.dir, (removed.at(-1) as Segment).lastSequence + 1));
    if (removed.length > 0) await syncDir(this.dir);
    return removed;
  }

  /** Drains appends, wakes waiters with false and closes descriptors. */
  async close(): Promise<void> {
    await this.#writer.drain();
    await this.#writer.close();
    for (const w of this.#waiters) w.done(false);
    this.#waiters = [];
    for (const s of this.#segments) await s.release();
  }
}

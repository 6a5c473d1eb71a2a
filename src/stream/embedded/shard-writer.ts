/**
 * Encoding and group commit for one shard. `enqueue` encodes a batch into ONE buffer of
 * blocks (sequence numbers and arrival time assigned on the spot) and queues it; a single
 * flush loop takes every queued batch, writes them with one `writev` and makes them durable
 * with one `fdatasync`, then acknowledges them all. Appenders that arrive while a flush is in
 * flight wait for the next group, so concurrent appenders share fsyncs (how the first group
 * after an idle moment forms, and the three ways of forming them: group-commit-tuner.ts).
 */
import { open, writev as writevCb, fdatasync as fdatasyncCb, close as closeCb, constants } from 'node:fs';
import { promisify } from 'node:util';
import { crashPoint } from '../../core/crash.ts';
import { HydrantError } from '../../core/errors.ts';
import type { PutRecord } from '../stream-log.ts';
import { encodeBatch, encodeBatchParts, PackedView, type BatchView } from './block-format.ts';
import { GroupCommitTuner, splitTarget, type GroupPolicyChooser } from './group-commit-tuner.ts';
import { appendSlabs, type Slab } from './slab-pool.ts';
import type { Segment } from './segment.ts';

const openP = promisify(open);
const writevP = promisify(writevCb);
const fdatasyncP = promisify(fdatasyncCb);
const closeP = promisify(closeCb);
/**
 * Flag for a descriptor whose writes return only once durable (as if each were followed by
 * an fdatasync of its range); undefined where the platform has none, and then `split` writes
 * and fdatasyncs like the others.
 */
const O_DSYNC: number | undefined = constants.O_DSYNC;

/** A batch encoded and waiting for its group's fsync. */
interface PendingBatch {
  /** The batch's bytes, written back to back (one buffer, or block headers and data views). */
  readonly bufs: Buffer[];
  readonly length: number;
  /** Where the slab parts of `bufs` were carved from: released once written. */
  slab: Slab | undefined;
  readonly firstSequence: number;
  readonly count: number;
  readonly arrival: number;
  /** Block starts within the batch's bytes: candidate index points. */
  readonly points: ReadonlyArray<{ readonly rel: number; readonly sequence: number }>;
  readonly resolve: (firstSequence: number) => void;
  readonly reject: (err: unknown) => void;
}

/** What the writer needs from its shard. */
export interface ShardWriterHost {
  /** The segment appends go to; may roll to a new one when the current is full. */
  activeSegment(): Segment | Promise<Segment>;
  /** Called after a group is durable, before its appenders are acknowledged. */
  committed(lastSequence: number, lastArrival: number): void;
  /** Counts fsyncs for `stats()`. */
  countFsync(): void;
}

/** The shard stopped taking appends after a write or fsync failure. */
export class ShardWriteError extends HydrantError {
  constructor(shard: string, cause: unknown) {
    super('LOG_WRITE_FAILED', `stream log shard ${shard} could not write or fsync its segment (${(cause as Error)?.message ?? String(cause)}); unacknowledged appends failed. Fix the disk problem (space, permissions) and restart: recovery drops the incomplete tail.`, { cause });
  }
}

/** A shard's single writer with group commit. */
export class ShardWriter {
  readonly #label: string;
  readonly #host: ShardWriterHost;
  readonly #indexIntervalBytes: number;
  readonly #blockBytes: number;
  #nextSequence: number;
  #lastArrival: number;
  #pending: PendingBatch[] = [];
  #flushing: Promise<void> | undefined;
  #failed: ShardWriteError | undefined;
  /** The active segment's descriptors: plain (write + fdatasync) and, once `split` used it, O_DSYNC. */
  #fd: { segment: Segment; fd: number; dsync: number | undefined } | undefined;
  #lastIndexOffset = -Infinity;
  readonly #tuner: GroupPolicyChooser;
  /** `split`: queued batches that start the next group when no flush is running. */
  #want = 1;
  #fallbackArmed = false;

  constructor(label: string, host: ShardWriterHost, nextSequence: number, lastArrival: number, indexIntervalBytes: number, blockBytes: number, tuner: GroupPolicyChooser = new GroupCommitTuner()) {
    this.#tuner = tuner;
    this.#blockBytes = blockBytes;
    this.#label = label;
    this.#host = host;
    this.#nextSequence = nextSequence;
    this.#lastArrival = lastArrival;
    this.#indexIntervalBytes = indexIntervalBytes;
  }

  /** Encodes and queues records; resolves to the first sequence once they are durable. */
  enqueue(records: readonly PutRecord[] | BatchView): Promise<number> {
    const count = Array.isArray(records) ? records.length : (records as BatchView).count;
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    // Arrival times never go backwards within a shard, so AT_TIMESTAMP can binary-search.
    const arrival = Math.max(this.#lastArrival, Date.now());
    this.#lastArrival = arrival;
    const firstSequence = this.#nextSequence;
    this.#nextSequence += count;
    // A whole packed batch is written from where it lies (block headers apart); anything else
    // is encoded into one buffer.
    const e = records instanceof PackedView && records.whole
      ? encodeBatchParts(records, firstSequence, arrival, this.#blockBytes, appendSlabs)
      : encodeBatch(records, firstSequence, arrival, this.#blockBytes, appendSlabs);
    const bufs = 'parts' in e ? e.parts : [e.buf];
    const length = 'parts' in e ? e.length : e.buf.length;
    const { blocks, slab } = e;
    return new Promise<number>((resolve, reject) => {
      this.#pending.push({ bufs, length, slab, firstSequence, count, arrival, points: blocks, resolve, reject });
      if (this.#flushing !== undefined) return;
      // `split` starts the group from here, synchronously, once half the producers it expects
      // have queued: the write is in the kernel while the rest encode. Fewer than that wait
      // at most one event-loop turn (a producer that is not coming must not hold the group).
      if (this.#tuner.policy === 'split' && this.#pending.length < this.#want) this.#armFallback();
      else this.#flushing = this.#flushLoop();
    });
  }

  /** Flushes what is queued at the next event-loop turn unless a flush has started by then. */
  #armFallback(): void {
    if (this.#fallbackArmed) return;
    this.#fallbackArmed = true;
    setImmediate(() => {
      this.#fallbackArmed = false;
      if (this.#flushing === undefined && this.#pending.length > 0) this.#flushing = this.#flushLoop();
    });
  }

  /** Resolves once every queued batch is durable (or failed). */
  async drain(): Promise<void> {
    for (;;) {
      if (this.#flushing === undefined) {
        // A `split` group may be waiting for producers: drain does not wait for them.
        if (this.#pending.length === 0) return;
        this.#flushing = this.#flushLoop();
      }
      await this.#flushing;
    }
  }

  async #flushLoop(): Promise<void> {
    for (;;) {
      // `join`: before taking a group, let every appender that can run now (e.g. all those the
      // last fsync acknowledged) queue its next batch; `eager` and `split`: take what is queued
      // at once (see group-commit-tuner.ts). Checked per group, so a switch applies under
      // steady load.
      const policy = this.#tuner.policy;
      if (policy === 'join') await new Promise<void>((resolve) => setImmediate(resolve));
      // Cleared in the same synchronous step as the emptiness check: an appender arriving
      // later always finds no flush running and starts one (no stranded batch).
      if (this.#pending.length === 0) {
        this.#flushing = undefined;
        return;
      }
      const group = this.#pending;
      this.#pending = [];
      const started = performance.now();
      try {
        const active = this.#host.activeSegment();
        const segment = active instanceof Promise ? await active : active;
        const fds = this.#fd?.segment === segment ? this.#fd : await this.#fdFor(segment);
        // One durable write instead of writev + fdatasync: between those two calls the main
        // thread must run (the writev's completion), and under `split` it is busy encoding the
        // other producers' batches, so the fdatasync would start only after them (measured:
        // no overlap, no gain over join). An O_DSYNC write is synced inside the same
        // thread-pool job. Same guarantee: it returns only once its bytes (and the file size)
        // are durable, and every earlier write was synced before it started.
        const dsync = policy === 'split' && O_DSYNC !== undefined;
        const fd = dsync ? (fds.dsync ?? (await this.#openDsync(fds))) : fds.fd;
        const position = segment.dataEnd;
        const bufs = group.length === 1 ? (group[0] as PendingBatch).bufs : group.flatMap((b) => b.bufs);
        const total = group.reduce((s, b) => s + b.length, 0);
        let written = (await writevP(fd, bufs, position)).bytesWritten;
        // Short writes are rare (full disk, signals); finish them from one joined buffer.
        while (written < total) written += (await writevP(fd, [Buffer.concat(bufs).subarray(written)], position + written)).bytesWritten;
        // The kernel has the bytes: the slabs may take new batches while the fsync runs.
        release(group);
        crashPoint('log.after-write-before-fsync');
        if (!dsync) await fdatasyncP(fd);
        this.#host.countFsync();
        crashPoint('log.after-fsync-before-ack');
        let at = position;
        for (const b of group) {
          for (const p of b.points) {
            if (at + p.rel - this.#lastIndexOffset >= this.#indexIntervalBytes || segment.entries.length === 0) {
              segment.entries.push({ sequence: p.sequence, arrival: b.arrival, offset: at + p.rel });
              this.#lastIndexOffset = at + p.rel;
            }
          }
          at += b.length;
          segment.records += b.count;
        }
        const last = group[group.length - 1] as PendingBatch;
        segment.lastSequence = last.firstSequence + last.count - 1;
        segment.lastArrival = last.arrival;
        segment.dataEnd = at;
        this.#host.committed(segment.lastSequence, last.arrival);
        let records = 0;
        for (const b of group) {
          records += b.count;
          b.resolve(b.firstSequence);
        }
        this.#tuner.flushed(started, records);
        if (this.#tuner.policy === 'split') {
          // The producers just acknowledged are about to queue again: the next group starts
          // once half of them plus those already queued are in (from enqueue), not before.
          this.#want = splitTarget(group.length, this.#pending.length);
          if (this.#pending.length < this.#want) {
            this.#flushing = undefined;
            if (this.#pending.length > 0) this.#armFallback();
            return;
          }
        }
      } catch (err) {
        this.#failed = new ShardWriteError(this.#label, err);
        release(group);
        release(this.#pending);
        for (const b of [...group, ...this.#pending]) b.reject(this.#failed);
        this.#pending = [];
      }
    }
  }

  async #fdFor(segment: Segment): Promise<{ segment: Segment; fd: number; dsync: number | undefined }> {
    if (this.#fd?.segment === segment) return this.#fd;
    await this.close();
    this.#fd = { segment, fd: await openP(segment.path, 'r+'), dsync: undefined };
    this.#lastIndexOffset = segment.entries.at(-1)?.offset ?? -Infinity;
    return this.#fd;
  }

  async #openDsync(fds: { segment: Segment; dsync: number | undefined }): Promise<number> {
    fds.dsync = await openP(fds.segment.path, constants.O_RDWR | (O_DSYNC as number));
    return fds.dsync;
  }

  /** Closes the write descriptors (after `drain`). */
  async close(): Promise<void> {
    const fds = this.#fd;
    this.#fd = undefined;
    if (fds === undefined) return;
    await closeP(fds.fd);
    if (fds.dsync !== undefined) await closeP(fds.dsync);
  }
}

/** Hands the batches' slab space back (once per batch: `slab` is cleared). */
function release(group: PendingBatch[]): void {
  for (const b of group) {
    if (b.slab === undefined) continue;
    appendSlabs.release(b.slab);
    b.slab = undefined;
  }
}

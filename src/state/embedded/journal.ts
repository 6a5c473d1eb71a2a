/**
 * The journal: one frame per committed transaction after a header frame. Appends write a
 * whole group of transactions and fsync once (group commit); {@link readJournal} replays a
 * journal and cuts a torn tail left by a crash.
 */
import { open, readFile, truncate } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crashPoint } from '../../core/crash.ts';
import { CorruptionError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { StateOp } from '../state-store.ts';
import { encodeFrame, scanFrames } from './frame.ts';
import { JOURNAL_FORMAT, STATE_FORMAT_VERSION, fsyncDir, headerProblem } from './files.ts';

/** Appends framed transactions to one journal file. */
export class JournalWriter {
  readonly path: string;
  readonly #fh: FileHandle;
  #size: number;

  private constructor(path: string, fh: FileHandle, size: number) {
    this.path = path;
    this.#fh = fh;
    this.#size = size;
  }

  /** Creates a new journal (header written and fsync'd, directory entry fsync'd). */
  static async create(path: string, generation: number): Promise<JournalWriter> {
    const fh = await open(path, 'w');
    const header = encodeFrame({ format: JOURNAL_FORMAT, version: STATE_FORMAT_VERSION, generation });
    try {
      await writeAll(fh, header, 0);
      await fh.datasync();
    } catch (err) {
      await fh.close();
      throw err;
    }
    await fsyncDir(dirname(path));
    return new JournalWriter(path, fh, header.length);
  }

  /** Reopens an existing journal for appending at `size` (its intact length). */
  static async append(path: string, size: number): Promise<JournalWriter> {
    return new JournalWriter(path, await open(path, 'r+'), size);
  }

  /** Bytes in the file, header included. */
  get size(): number {
    return this.#size;
  }

  /** Writes already-framed transactions and fsyncs them; resolves once they are durable. */
  async write(frames: Buffer): Promise<void> {
    await writeAll(this.#fh, frames, this.#size);
    this.#size += frames.length;
    crashPoint('state.after-write-before-fsync');
    await this.#fh.datasync();
    crashPoint('state.after-fsync-before-ack');
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }
}

/** Frames one transaction's ops. */
export function encodeTransaction(ops: readonly StateOp[]): Buffer {
  return encodeFrame(ops.map((op) => (op.type === 'put' ? { type: 'put', key: op.key, value: op.value } : { type: 'delete', key: op.key })));
}

/** What replaying a journal found. */
export interface JournalContents {
  readonly transactions: StateOp[][];
  /** Intact length; appends continue here. */
  readonly size: number;
  /** false when the file had no intact header (a crash while it was being created). */
  readonly hasHeader: boolean;
}

/**
 * Reads a journal. Only the newest journal (`isLast`) may end in a torn write, which is cut
 * off with a warning (nothing in it was acknowledged); any other damage is a CorruptionError.
 * With `repair: false` (read-only opens) a torn tail is ignored and the file left as it is: it
 * may be a live writer's append in progress.
 */
export async function readJournal(path: string, generation: number, isLast: boolean, logger: Logger, options: { readonly repair?: boolean } = {}): Promise<JournalContents> {
  const buf = await readFile(path);
  const scan = scanFrames(buf);
  if (scan.stop !== undefined) {
    if (scan.stop.kind === 'corrupt' || !isLast) {
      throw new CorruptionError(`state journal ${path} is damaged at byte ${scan.stop.offset} of ${buf.length} (${scan.stop.reason}); acknowledged state may be lost. Restore the data_dir from a backup, or move the state directory aside to start from empty state.`, { path, offset: scan.stop.offset });
    }
    if (options.repair !== false) {
      logger.warn('cutting torn tail of state journal left by a crash (it was never acknowledged)', { path, offset: scan.stop.offset, droppedBytes: buf.length - scan.stop.offset, reason: scan.stop.reason });
      await truncate(path, scan.validLength);
    }
  }
  const [header, ...txs] = scan.payloads;
  if (header === undefined) return { transactions: [], size: 0, hasHeader: false };
  const problem = headerProblem(header, JOURNAL_FORMAT, generation);
  if (problem !== undefined) throw new CorruptionError(`state journal ${path} ${problem}.`, { path });
  for (const tx of txs) {
    if (!Array.isArray(tx)) throw new CorruptionError(`state journal ${path} holds a frame that is not a transaction; it was written by something else. Move it aside.`, { path });
  }
  return { transactions: txs as StateOp[][], size: scan.validLength, hasHeader: true };
}

async function writeAll(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

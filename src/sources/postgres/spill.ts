/**
 * Spill files for transactions that PostgreSQL streams while they are still in progress
 * (pgoutput protocol 2, `streaming 'on'`). Their changes go to one file per top-level xid
 * under the data dir and are read back in order only when the transaction commits, so a
 * huge transaction is never held in memory, and one that aborts never reaches the stream.
 * No fsync: after a crash the slot has not confirmed the transaction, so the server streams
 * it again, and the spill dir is cleared on start.
 *
 * Record layout: u32 payload length, u32 relation serial, u32 sub-transaction xid, payload
 * (the raw pgoutput change message).
 */
import { closeSync, mkdirSync, openSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const HEADER = 12;
const WRITE_BUFFER = 1024 * 1024;

/** One spilled change. */
export interface SpillRecord {
  readonly relSerial: number;
  readonly subxid: number;
  readonly payload: Buffer;
}

/** Appends the changes of one streamed transaction. */
export class SpillWriter {
  readonly path: string;
  readonly #fd: number;
  #buf = Buffer.allocUnsafe(WRITE_BUFFER);
  #used = 0;
  /** Sub-transactions that aborted: their records are skipped on replay. */
  readonly abortedSubxids = new Set<number>();
  records = 0;
  bytes = 0;

  constructor(dir: string, xid: number) {
    this.path = join(dir, `xid-${xid}.spill`);
    this.#fd = openSync(this.path, 'w');
  }

  append(relSerial: number, subxid: number, payload: Buffer): void {
    const need = HEADER + payload.length;
    if (this.#used + need > this.#buf.length) {
      this.#flush();
      if (need > this.#buf.length) this.#buf = Buffer.allocUnsafe(need);
    }
    const b = this.#buf;
    b.writeUInt32BE(payload.length, this.#used);
    b.writeUInt32BE(relSerial, this.#used + 4);
    b.writeUInt32BE(subxid, this.#used + 8);
    payload.copy(b, this.#used + HEADER);
    this.#used += need;
    this.records++;
    this.bytes += need;
  }

  /** Flushes and closes the file, ready for {@link SpillReader}. */
  finish(): void {
    this.#flush();
    closeSync(this.#fd);
  }

  /** Closes and deletes the file (the transaction aborted). */
  discard(): void {
    try {
      closeSync(this.#fd);
    } catch {
      // already closed by finish()
    }
    rmSync(this.path, { force: true });
  }

  #flush(): void {
    let off = 0;
    while (off < this.#used) off += writeSync(this.#fd, this.#buf, off, this.#used - off);
    this.#used = 0;
  }
}

/** Reads a finished spill file back in order, a chunk at a time. */
export class SpillReader {
  readonly #path: string;
  readonly #fd: number;
  #buf = Buffer.allocUnsafe(4 * 1024 * 1024);
  #start = 0;
  #end = 0;
  #eof = false;

  constructor(path: string) {
    this.#path = path;
    this.#fd = openSync(path, 'r');
  }

  /** Next record, or undefined at the end. */
  next(): SpillRecord | undefined {
    if (!this.#ensure(HEADER)) return undefined;
    const len = this.#buf.readUInt32BE(this.#start);
    if (!this.#ensure(HEADER + len)) throw new Error(`spill file ${this.#path} is truncated`);
    const relSerial = this.#buf.readUInt32BE(this.#start + 4);
    const subxid = this.#buf.readUInt32BE(this.#start + 8);
    const payload = Buffer.from(this.#buf.subarray(this.#start + HEADER, this.#start + HEADER + len));
    this.#start += HEADER + len;
    return { relSerial, subxid, payload };
  }

  /** Closes and deletes the file. */
  close(): void {
    closeSync(this.#fd);
    try {
      unlinkSync(this.#path);
    } catch {
      // gone already
    }
  }

  #ensure(n: number): boolean {
    while (this.#end - this.#start < n) {
      if (this.#eof) return false;
      if (this.#start > 0) {
        this.#buf.copy(this.#buf, 0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      }
      if (n > this.#buf.length) {
        const bigger = Buffer.allocUnsafe(n);
        this.#buf.copy(bigger, 0, 0, this.#end);
        this.#buf = bigger;
      }
      const got = readSync(this.#fd, this.#buf, this.#end, this.#buf.length - this.#end, null);
      if (got === 0) this.#eof = true;
      this.#end += got;
    }
    return true;
  }
}

/** Creates (and empties) the spill dir. */
export function resetSpillDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}

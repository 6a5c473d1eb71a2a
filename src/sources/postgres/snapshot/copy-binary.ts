/**
 * A streaming decoder of PostgreSQL's `COPY ... TO STDOUT (FORMAT binary)` output: the
 * 19-byte header, tuples of `(int16 field count, (int32 length | -1 NULL, bytes)*)` and the
 * `-1` trailer. It accepts the data in any chunking (PostgreSQL happens to send one CopyData
 * message per tuple, which is the fast path: no copying), and builds each tuple straight into a
 * row object through one decoder per column, so no intermediate field arrays exist.
 */
import { CodecError } from '../../../core/errors.ts';
import type { Row, Value } from '../../../core/values.ts';
import type { BinaryDecoder } from './binary-values.ts';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/** How one column of the COPY output becomes a row field. */
export interface CopyColumn {
  readonly name: string;
  readonly decode: BinaryDecoder;
}

export class CopyBinaryDecoder {
  readonly #columns: readonly CopyColumn[];
  readonly #onRow: (row: Row) => void;
  #headerDone = false;
  #ended = false;
  #pending: Buffer | undefined;
  #rows = 0;
  #bytes = 0;

  constructor(columns: readonly CopyColumn[], onRow: (row: Row) => void) {
    this.#columns = columns;
    this.#onRow = onRow;
  }

  /** Rows decoded so far. */
  get rows(): number {
    return this.#rows;
  }

  /** Bytes received so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Feeds the next piece of COPY data. The chunk may be reused by the caller afterwards. */
  push(chunk: Buffer): void {
    this.#bytes += chunk.length;
    let b = chunk;
    if (this.#pending !== undefined) {
      b = Buffer.concat([this.#pending, chunk]);
      this.#pending = undefined;
    }
    let off = 0;
    if (!this.#headerDone) {
      if (b.length < 19) {
        this.#pending = Buffer.from(b);
        return;
      }
      if (!b.subarray(0, 11).equals(SIGNATURE)) throw new CodecError('COPY binary output does not start with the PGCOPY signature: the server did not send FORMAT binary');
      const ext = b.readInt32BE(15);
      if (b.length < 19 + ext) {
        this.#pending = Buffer.from(b);
        return;
      }
      off = 19 + ext;
      this.#headerDone = true;
    }
    const n = b.length;
    while (off < n) {
      if (this.#ended) throw new CodecError('COPY binary output continues after its trailer');
      const end = this.#tupleEnd(b, off);
      if (end < 0) {
        // Incomplete tuple: keep a copy (the caller's buffer is reused).
        this.#pending = Buffer.from(b.subarray(off));
        return;
      }
      off = this.#decodeTuple(b, off);
    }
  }

  /** Checks the data ended with the trailer. */
  finish(): void {
    if (!this.#ended || this.#pending !== undefined) throw new CodecError(`COPY binary output ended without its trailer after ${this.#rows} rows: the connection was cut`);
  }

  /** End offset of the tuple at `off`, or -1 when it is not complete in `b`. */
  #tupleEnd(b: Buffer, off: number): number {
    if (off + 2 > b.length) return -1;
    const count = b.readInt16BE(off);
    if (count === -1) return off + 2;
    let p = off + 2;
    for (let i = 0; i < count; i++) {
      if (p + 4 > b.length) return -1;
      const len = b.readInt32BE(p);
      p += 4 + (len > 0 ? len : 0);
      if (p > b.length) return -1;
    }
    return p;
  }

  #decodeTuple(b: Buffer, off: number): number {
    const count = b.readInt16BE(off);
    if (count === -1) {
      this.#ended = true;
      return off + 2;
    }
    const cols = this.#columns;
    if (count !== cols.length) throw new CodecError(`COPY binary tuple has ${count} fields, expected ${cols.length}`);
    let p = off + 2;
    const row: Row = {};
    for (let i = 0; i < count; i++) {
      const len = b.readInt32BE(p);
      p += 4;
      const c = cols[i] as CopyColumn;
      let v: Value = null;
      if (len >= 0) {
        try {
          v = c.decode(b, p, len);
        } catch (err) {
          throw new CodecError(`column ${c.name}: cannot decode binary value (${len} bytes): ${(err as Error).message}`, { cause: err });
        }
        p += len;
      }
      row[c.name] = v;
    }
    this.#rows++;
    this.#onRow(row);
    return p;
  }
}

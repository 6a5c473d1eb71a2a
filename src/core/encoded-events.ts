/**
 * Events a source wrote as stream-record bytes itself, packed back to back in one buffer.
 *
 * Why: building a {@link ChangeEvent} object graph per row and then serializing it costs more
 * than everything else on the capture path (measured ~3.5 µs to encode a 400-byte PostgreSQL
 * envelope here, mostly cache misses over freshly built objects, plus the GC of them). A
 * source that knows its rows' shape can write the envelope JSON straight from the bytes it
 * received. The runner takes such batches only when the source has no source-edge transforms
 * (`ComponentContext.encodedBatches`); transforms need the objects.
 *
 * Contract: record `i` is exactly `encodeEnvelope(e)` of the event the source would otherwise
 * have emitted, its partition key exactly `partitionKeyOf(e)`, its position
 * `e.source.position` and its table `e.source.table` ('' for log events). Sources prove it
 * with differential tests against the object path; the runner relies on it (it does not parse
 * the records back to check them against their schemas).
 */
import { decodeEnvelope, type Envelope } from './change-event.ts';

/** A finished batch of encoded events. */
export interface EncodedEvents {
  readonly count: number;
  /** All records, back to back. */
  readonly bytes: Buffer;
  /** End offset in `bytes` of each record (record i spans `ends[i-1] ?? 0` to `ends[i]`). */
  readonly ends: readonly number[];
  readonly partitionKeys: readonly string[];
  readonly positions: readonly string[];
  readonly tables: readonly string[];
}

/** Buffer's native UTF-8 writer: what `write(s, o, 'utf8')` calls after checking its arguments. Not in Node's types. */
interface NativeWrite {
  utf8Write(s: string, offset: number): number;
}

/**
 * Collects encoded events; {@link take} hands them over and starts a new batch.
 *
 * Two ways to add a record: {@link add} with its whole JSON text, or written in place, byte by
 * byte, by a source that has the record's parts as bytes already (the PostgreSQL change stream
 * copies values straight from pgoutput): {@link room} to make space, stores into {@link buf}
 * from {@link at} on (advancing `at`), then {@link end}. In-place writing skips building a
 * string per record, which cost more than writing its bytes: the rope of ~20 pieces is
 * flattened and encoded by the native writer (~1.3 µs for a 400-byte record here) and its
 * pieces are garbage.
 */
export class EncodedEventsBuilder {
  /** The batch's bytes so far; the record being written in place lies from the last end to {@link at}. May be replaced by {@link room}. */
  buf: Buffer;
  /** Where the next byte goes. */
  at = 0;
  #ends: number[] = [];
  #keys: string[] = [];
  #positions: string[] = [];
  #tables: string[] = [];
  /** Buffers of handed-out batches the owner gave back ({@link recycle}): reused by {@link take}. */
  #free: ArrayBuffer[] = [];

  constructor(initialBytes = 1 << 20) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get count(): number {
    return this.#ends.length;
  }

  /** Position of the last event added, or undefined when empty. */
  get lastPosition(): string | undefined {
    return this.#positions[this.#positions.length - 1];
  }

  /** Makes room for `n` more bytes at {@link at} (keeping the bytes before it); returns {@link buf}. */
  room(n: number): Buffer {
    if (this.at + n > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
      this.buf.copy(next, 0, 0, this.at);
      this.buf = next;
    }
    return this.buf;
  }

  /** Writes `s` as UTF-8 at {@link at}: a byte loop for short ASCII text, the native writer otherwise. */
  text(s: string): void {
    const n = s.length;
    const b = this.room(n * 3);
    let o = this.at;
    if (n <= 64) {
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[o + i] = c;
      }
      if (i === n) {
        this.at = o + n;
        return;
      }
    }
    o += (b as unknown as NativeWrite).utf8Write(s, o);
    this.at = o;
  }

  /** Copies `bytes` to {@link at}. */
  bytes(bytes: Uint8Array): void {
    const b = this.room(bytes.length);
    b.set(bytes, this.at);
    this.at += bytes.length;
  }

  /** Ends the record written in place since the previous one ended. */
  end(partitionKey: string, position: string, table: string): void {
    this.#ends.push(this.at);
    this.#keys.push(partitionKey);
    this.#positions.push(position);
    this.#tables.push(table);
  }

  /** Where the record being written in place starts. */
  get recordStart(): number {
    const n = this.#ends.length;
    return n === 0 ? 0 : (this.#ends[n - 1] as number);
  }

  /** Drops the bytes written in place since the last record ended (a writer that must fall back). */
  abandon(): void {
    this.at = this.recordStart;
  }

  /** Adds one record: its envelope JSON text, partition key, position and table. */
  add(json: string, partitionKey: string, position: string, table: string): void {
    this.text(json);
    this.end(partitionKey, position, table);
  }

  /**
   * Drops every record after the first `count` (a source that must take back the tail of a
   * batch, e.g. rows a snapshot window supersedes).
   */
  truncate(count: number): void {
    if (count >= this.#ends.length) return;
    this.at = count === 0 ? 0 : (this.#ends[count - 1] as number);
    this.#ends.length = count;
    this.#keys.length = count;
    this.#positions.length = count;
    this.#tables.length = count;
  }

  /**
   * The batch so far; the builder starts over with a fresh buffer (the runner may still be
   * appending the returned bytes while the source builds the next batch).
   */
  take(): EncodedEvents {
    const out: EncodedEvents = { count: this.#ends.length, bytes: this.buf.subarray(0, this.at), ends: this.#ends, partitionKeys: this.#keys, positions: this.#positions, tables: this.#tables };
    const want = Math.max(1 << 16, Math.min(this.buf.length, this.at * 2));
    const free = this.#free.pop();
    this.buf = free !== undefined && free.byteLength >= want ? Buffer.from(free) : Buffer.allocUnsafe(want);
    this.at = 0;
    this.#ends = [];
    this.#keys = [];
    this.#positions = [];
    this.#tables = [];
    return out;
  }

  /**
   * Gives back the buffer of a batch this builder handed out, once nothing reads its bytes any
   * more (a source calls it when the runner acknowledged the batch: the stream has copied the
   * records by then, see `StreamLog.append`). A fresh multi-MiB buffer page-faults on every
   * 4 KiB of its first write; a reused one does not. At most two are kept.
   */
  recycle(e: EncodedEvents): void {
    const ab = e.bytes.buffer;
    // Only whole buffers this builder allocated (never a slice of Node's shared pool).
    if (!(ab instanceof ArrayBuffer) || e.bytes.byteOffset !== 0 || ab.byteLength < 1 << 16 || ab === this.buf.buffer || this.#free.length >= 2) return;
    if (this.#free.includes(ab)) return;
    this.#free.push(ab);
  }
}

/** The bytes of record `i`. */
export function encodedRecord(e: EncodedEvents, i: number): Buffer {
  return e.bytes.subarray(i === 0 ? 0 : (e.ends[i - 1] as number), e.ends[i] as number);
}

/** The envelopes of an encoded batch (for paths that need objects, e.g. transforms). */
export function decodeEncodedEvents(e: EncodedEvents): Envelope[] {
  const out = new Array<Envelope>(e.count);
  for (let i = 0; i < e.count; i++) out[i] = decodeEnvelope(encodedRecord(e, i));
  return out;
}

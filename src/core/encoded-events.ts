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

/** Collects encoded events; {@link take} hands them over and starts a new batch. */
export class EncodedEventsBuilder {
  #buf: Buffer;
  #pos = 0;
  #ends: number[] = [];
  #keys: string[] = [];
  #positions: string[] = [];
  #tables: string[] = [];

  constructor(initialBytes = 1 << 20) {
    this.#buf = Buffer.allocUnsafe(initialBytes);
  }

  get count(): number {
    return this.#ends.length;
  }

  /** Position of the last event added, or undefined when empty. */
  get lastPosition(): string | undefined {
    return this.#positions[this.#positions.length - 1];
  }

  /** Adds one record: its envelope JSON text, partition key, position and table. */
  add(json: string, partitionKey: string, position: string, table: string): void {
    const max = json.length * 3;
    if (this.#pos + max > this.#buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + max));
      this.#buf.copy(next, 0, 0, this.#pos);
      this.#buf = next;
    }
    // One native write per record: building the text with string concatenation (ropes) and
    // encoding it once is far cheaper here than writing it byte by byte from JavaScript.
    this.#pos += (this.#buf as unknown as NativeWrite).utf8Write(json, this.#pos);
    this.#ends.push(this.#pos);
    this.#keys.push(partitionKey);
    this.#positions.push(position);
    this.#tables.push(table);
  }

  /**
   * Drops every record after the first `count` (a source that must take back the tail of a
   * batch, e.g. rows a snapshot window supersedes).
   */
  truncate(count: number): void {
    if (count >= this.#ends.length) return;
    this.#pos = count === 0 ? 0 : (this.#ends[count - 1] as number);
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
    const out: EncodedEvents = { count: this.#ends.length, bytes: this.#buf.subarray(0, this.#pos), ends: this.#ends, partitionKeys: this.#keys, positions: this.#positions, tables: this.#tables };
    this.#buf = Buffer.allocUnsafe(Math.max(1 << 16, Math.min(this.#buf.length, this.#pos * 2)));
    this.#pos = 0;
    this.#ends = [];
    this.#keys = [];
    this.#positions = [];
    this.#tables = [];
    return out;
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

/**
 * The first pass's queue in encoded mode: snapshot rows already written as stream records
 * (envelope JSON as UTF-8, back to back), handed out from the front as {@link EncodedEvents}.
 * A handed-out batch is a view of the queue's buffer; the queue never writes into bytes it
 * handed out (a full buffer is replaced, not compacted), because the runner may still be
 * appending them while the readers queue the next rows.
 */
import type { EncodedEvents } from '../../../core/encoded-events.ts';

/** Buffer's native UTF-8 writer (what `write(s, o, 'utf8')` calls after checking its arguments). */
interface NativeWrite {
  utf8Write(s: string, offset: number): number;
}

export class EncodedQueue {
  #buf = Buffer.allocUnsafe(1 << 20);
  /** Write offset in `#buf`. */
  #pos = 0;
  /** Byte offset of the first queued record. */
  #start = 0;
  /** End offset in `#buf` of each record from `#head` on. */
  #ends: number[] = [];
  #keys: string[] = [];
  #positions: string[] = [];
  #tables: string[] = [];
  #head = 0;
  /**
   * Most bytes queued at a take(): a new buffer gets at least that much room, so a full queue
   * costs one allocation per batch instead of a chain of doublings that each copy the queue.
   */
  #peak = 0;

  /** Records queued. */
  get length(): number {
    return this.#ends.length - this.#head;
  }

  /** Queues one record: its envelope JSON, partition key, position and table. */
  add(json: string, partitionKey: string, position: string, table: string): void {
    const max = json.length * 3;
    if (this.#pos + max > this.#buf.length) this.#grow(max);
    this.#pos += (this.#buf as unknown as NativeWrite).utf8Write(json, this.#pos);
    this.#ends.push(this.#pos);
    this.#keys.push(partitionKey);
    this.#positions.push(position);
    this.#tables.push(table);
  }

  /** Hands out the first `n` records (fewer when fewer are queued). */
  take(n: number): EncodedEvents {
    const h = this.#head;
    const m = Math.min(n, this.length);
    const from = this.#start;
    if (this.#pos - from > this.#peak) this.#peak = this.#pos - from;
    const to = m === 0 ? from : (this.#ends[h + m - 1] as number);
    const ends = new Array<number>(m);
    for (let i = 0; i < m; i++) ends[i] = (this.#ends[h + i] as number) - from;
    const out: EncodedEvents = {
      count: m,
      bytes: this.#buf.subarray(from, to),
      ends,
      partitionKeys: this.#keys.slice(h, h + m),
      positions: this.#positions.slice(h, h + m),
      tables: this.#tables.slice(h, h + m),
    };
    this.#start = to;
    this.#head = h + m;
    if (this.#head === this.#ends.length) {
      this.#ends = [];
      this.#keys = [];
      this.#positions = [];
      this.#tables = [];
      this.#head = 0;
    } else if (this.#head > 65_536) this.#dropTaken();
    return out;
  }

  #dropTaken(): void {
    const h = this.#head;
    this.#ends = this.#ends.slice(h);
    this.#keys = this.#keys.slice(h);
    this.#positions = this.#positions.slice(h);
    this.#tables = this.#tables.slice(h);
    this.#head = 0;
  }

  /** A new buffer with the queued bytes moved to its start (the old one may be in handed-out views). */
  #grow(need: number): void {
    const queued = this.#pos - this.#start;
    const next = Buffer.allocUnsafe(Math.max(1 << 20, 2 * (queued + need), this.#peak + need));
    this.#buf.copy(next, 0, this.#start, this.#pos);
    if (this.#head > 0) this.#dropTaken();
    for (let i = 0; i < this.#ends.length; i++) this.#ends[i] = (this.#ends[i] as number) - this.#start;
    this.#buf = next;
    this.#pos = queued;
    this.#start = 0;
  }
}

/**
 * A reusable buffer that JSON text is written into as UTF-8 bytes, for the stream's hot path:
 * encoding an envelope this way skips the intermediate objects, the string ropes and the
 * separate UTF-8 conversion that `Buffer.from(JSON.stringify(...))` costs for every record.
 *
 * Strings are written exactly as `JSON.stringify` writes them: plain ASCII byte by byte, and
 * anything else (escapes, non-ASCII, lone surrogates) through `JSON.stringify` itself.
 */

/** Writes JSON text as UTF-8 into a growing scratch buffer; {@link take} copies the result out. */
export class JsonByteWriter {
  #buf: Buffer;
  #pos = 0;
  readonly #keys = new Map<string, Uint8Array>();

  constructor(initialBytes = 16 * 1024) {
    this.#buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Bytes written since the last {@link reset}. */
  get length(): number {
    return this.#pos;
  }

  /** Starts a new document (keeps the buffer). */
  reset(): void {
    this.#pos = 0;
  }

  /** A copy of the bytes written (from Node's small-buffer pool when short), for the caller to keep. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.#pos);
    this.#buf.copy(out, 0, 0, this.#pos);
    return out;
  }

  /** The bytes written, as a string (UTF-8 decoded). */
  toString(): string {
    return this.#buf.toString('utf8', 0, this.#pos);
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + n));
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }

  /** Writes text that is known to be ASCII and need no escaping (punctuation, digits, tags). */
  ascii(s: string): void {
    const n = s.length;
    this.#ensure(n);
    const b = this.#buf;
    let p = this.#pos;
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    this.#pos = p;
  }

  /** Writes bytes as they are (e.g. a cached piece of JSON). */
  bytes(b: Uint8Array): void {
    const n = b.length;
    this.#ensure(n);
    const buf = this.#buf;
    let p = this.#pos;
    // Short pieces: a plain loop beats the call into TypedArray.prototype.set.
    if (n <= 32) for (let i = 0; i < n; i++) buf[p++] = b[i] as number;
    else {
      buf.set(b, p);
      p += n;
    }
    this.#pos = p;
  }

  /**
   * Writes `"k":` for an object key. Column names repeat on every row, so their bytes are
   * remembered (bounded, so that arbitrary keys cannot grow the cache without limit).
   */
  key(k: string): void {
    let b = this.#keys.get(k);
    if (b === undefined) {
      b = Buffer.from(`${JSON.stringify(k)}:`, 'utf8');
      if (this.#keys.size >= 4096) this.#keys.clear();
      this.#keys.set(k, b);
    }
    this.bytes(b);
  }

  /** Writes one ASCII character code. */
  byte(c: number): void {
    this.#ensure(1);
    this.#buf[this.#pos++] = c;
  }

  /** Writes `s` as a JSON string literal, byte for byte what `JSON.stringify(s)` gives in UTF-8. */
  string(s: string): void {
    const n = s.length;
    this.#ensure(n + 2);
    const b = this.#buf;
    const start = this.#pos;
    let p = start;
    b[p++] = 34;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c >= 0x7f || c === 34 || c === 92) {
        // Escapes or non-ASCII: let JSON.stringify and the native UTF-8 encoder do it.
        this.#pos = start;
        this.text(JSON.stringify(s));
        return;
      }
      b[p++] = c;
    }
    b[p++] = 34;
    this.#pos = p;
  }

  /** Writes text as UTF-8 as it is (no quoting or escaping): for JSON text made elsewhere. */
  text(s: string): void {
    this.#ensure(s.length * 3);
    this.#pos += this.#buf.write(s, this.#pos, 'utf8');
  }
}

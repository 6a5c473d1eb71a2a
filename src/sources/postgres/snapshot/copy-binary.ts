/**
 * A streaming decoder of PostgreSQL's `COPY ... TO STDOUT (FORMAT binary)` output: the
 * 19-byte header, tuples of `(int16 field count, (int32 length | -1 NULL, bytes)*)` and the
 * `-1` trailer. It accepts the data in any chunking (PostgreSQL happens to send one CopyData
 * message per tuple, which is the fast path: decoded in place in the socket's buffer, no
 * copying), and builds each tuple straight into a row object.
 *
 * Speed (see docs/benchmarks.md "snapshot"): rows are built by a function generated once per
 * column list (`new Function`), which creates the row as one object literal. Assigning the
 * fields one by one with computed names (`row[name] = v`) made V8 use keyed stores and grow
 * every row through a chain of hidden classes: that was the single largest cost of the decode.
 * The generated code calls the same column decoders in the same order and produces the same
 * keys in the same order, so the rows are identical; a field that fails to decode is reported
 * by the generic loop, which names the column.
 */
import { CodecError } from '../../../core/errors.ts';
import type { Row, Value } from '../../../core/values.ts';
import { quoteKey } from '../../../core/values.ts';
import type { BinaryJson } from './binary-json.ts';
import type { BinaryDecoder } from './binary-values.ts';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/** How one column of the COPY output becomes a row field. */
export interface CopyColumn {
  readonly name: string;
  readonly decode: BinaryDecoder;
  /** The field straight to its value JSON (`valueToJson(decode(...))`), for encoded batches. */
  readonly json?: BinaryJson;
}

/** Where a JSON tuple reader leaves a tuple: its row and key JSON and the offset after it. */
interface JsonAt {
  p: number;
  row: string;
  key: string;
}

/** Decodes the fields of one complete tuple at `p` into `at.row` / `at.key` JSON; sets `at.p`. */
type TupleJsonReader = (b: Buffer, p: number, at: JsonAt) => void;

const jsonReaders = new WeakMap<readonly CopyColumn[], Map<string, TupleJsonReader>>();

/**
 * The generated reader of a tuple's row JSON (`valueToJson(row)`) and key JSON
 * (`valueToJson(key)`, key columns in key order), or undefined when the text would not be the
 * object path's: a column without a JSON writer, a name starting with `$` (rows become
 * `{"$o":…}`), an integer-like name (objects list those first), `__proto__`, or a key column
 * not among the columns.
 */
export function tupleJsonReader(columns: readonly CopyColumn[], key: readonly string[]): TupleJsonReader | undefined {
  let byKey = jsonReaders.get(columns);
  const k = JSON.stringify(key);
  const cached = byKey?.get(k);
  if (cached !== undefined) return cached;
  const names = columns.map((c) => c.name);
  if (columns.length === 0 || columns.length > 1000 || columns.some((c) => c.json === undefined || c.name.charCodeAt(0) === 36 || /^(0|[1-9][0-9]*)$/.test(c.name) || c.name === '__proto__')) return undefined;
  if (key.some((x) => !names.includes(x))) return undefined;
  const body: string[] = ['let len = 0;'];
  for (let i = 0; i < columns.length; i++) {
    body.push(`len = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]; p += 4;`);
    body.push(`let v${i} = 'null'; if (len >= 0) { v${i} = j${i}(b, p, len); p += len; }`);
  }
  body.push('at.p = p;');
  body.push(`at.row = ${columns.map((c, i) => `${JSON.stringify((i === 0 ? '{' : ',') + quoteKey(c.name) + ':')} + v${i}`).join(' + ')} + '}';`);
  body.push(key.length === 0 ? `at.key = '{}';` : `at.key = ${key.map((x, i) => `${JSON.stringify((i === 0 ? '{' : ',') + quoteKey(x) + ':')} + v${names.indexOf(x)}`).join(' + ')} + '}';`);
  const params = columns.map((_, i) => `j${i}`);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function(...params, `return function readTupleJson(b, p, at) {\n${body.join('\n')}\n};`) as (...j: BinaryJson[]) => TupleJsonReader;
  const reader = make(...columns.map((c) => c.json as BinaryJson));
  if (byKey === undefined) jsonReaders.set(columns, (byKey = new Map()));
  byKey.set(k, reader);
  return reader;
}

/** Row and key JSON per tuple, instead of row objects (see {@link tupleJsonReader}). */
export interface JsonRows {
  readonly read: TupleJsonReader;
  onRow(rowJson: string, keyJson: string): void;
}

/** Decodes the fields of one complete tuple at `p` (after its field count); sets `at.p` past it. */
type TupleReader = (b: Buffer, p: number, at: { p: number }) => Row;

const readers = new WeakMap<readonly CopyColumn[], TupleReader>();

/** The generated tuple reader of a column list (cached per list), or undefined for the generic loop. */
function tupleReader(columns: readonly CopyColumn[]): TupleReader | undefined {
  const cached = readers.get(columns);
  if (cached !== undefined) return cached;
  // An object literal's `__proto__: v` sets the prototype instead of a field: keep those generic.
  if (columns.some((c) => c.name === '__proto__') || columns.length > 1000) return undefined;
  const body: string[] = ['let len = 0;'];
  for (let i = 0; i < columns.length; i++) {
    // Bounds were checked by tupleEnd: plain byte reads are safe.
    body.push(`len = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]; p += 4;`);
    body.push(`let v${i} = null; if (len >= 0) { v${i} = d${i}(b, p, len); p += len; }`);
  }
  body.push('at.p = p;');
  body.push(`return { ${columns.map((c, i) => `${JSON.stringify(c.name)}: v${i}`).join(', ')} };`);
  const params = columns.map((_, i) => `d${i}`);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function(...params, `return function readTuple(b, p, at) {\n${body.join('\n')}\n};`) as (...d: BinaryDecoder[]) => TupleReader;
  const reader = make(...columns.map((c) => c.decode));
  readers.set(columns, reader);
  return reader;
}

export class CopyBinaryDecoder {
  readonly #columns: readonly CopyColumn[];
  readonly #onRow: (row: Row) => void;
  readonly #read: TupleReader | undefined;
  readonly #json: JsonRows | undefined;
  readonly #at = { p: 0 };
  readonly #jsonAt: JsonAt = { p: 0, row: '', key: '' };
  #headerDone = false;
  #ended = false;
  #pending: Buffer | undefined;
  #rows = 0;
  #bytes = 0;

  /** `json`: hand each tuple to `json.onRow` as row and key JSON instead of a row object to `onRow`. */
  constructor(columns: readonly CopyColumn[], onRow: (row: Row) => void, json?: JsonRows) {
    this.#columns = columns;
    this.#onRow = onRow;
    this.#read = tupleReader(columns);
    this.#json = json;
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
    this.pushRange(chunk, 0, chunk.length);
  }

  /** Feeds `b[start..end)`, the next piece of COPY data. `b` may be reused by the caller afterwards. */
  pushRange(b: Buffer, start: number, end: number): void {
    this.#bytes += end - start;
    let off = start;
    if (this.#pending !== undefined) {
      b = Buffer.concat([this.#pending, b.subarray(start, end)]);
      this.#pending = undefined;
      off = 0;
      end = b.length;
    }
    if (!this.#headerDone) {
      if (end - off < 19) {
        this.#pending = Buffer.from(b.subarray(off, end));
        return;
      }
      if (!b.subarray(off, off + 11).equals(SIGNATURE)) throw new CodecError('COPY binary output does not start with the PGCOPY signature: the server did not send FORMAT binary');
      const ext = b.readInt32BE(off + 15);
      if (end - off < 19 + ext) {
        this.#pending = Buffer.from(b.subarray(off, end));
        return;
      }
      off += 19 + ext;
      this.#headerDone = true;
    }
    while (off < end) {
      if (this.#ended) throw new CodecError('COPY binary output continues after its trailer');
      const tupleEnd = this.#tupleEnd(b, off, end);
      if (tupleEnd < 0) {
        // Incomplete tuple: keep a copy (the caller's buffer is reused).
        this.#pending = Buffer.from(b.subarray(off, end));
        return;
      }
      off = this.#decodeTuple(b, off);
    }
  }

  /** Checks the data ended with the trailer. */
  finish(): void {
    if (!this.#ended || this.#pending !== undefined) throw new CodecError(`COPY binary output ended without its trailer after ${this.#rows} rows: the connection was cut`);
  }

  /** End offset of the tuple at `off`, or -1 when it is not complete before `end`. */
  #tupleEnd(b: Buffer, off: number, end: number): number {
    if (off + 2 > end) return -1;
    const count = (((b[off] as number) << 24) >> 16) | (b[off + 1] as number);
    if (count < 0) return off + 2;
    let p = off + 2;
    for (let i = 0; i < count; i++) {
      if (p + 4 > end) return -1;
      const len = ((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number);
      p += 4 + (len > 0 ? len : 0);
      if (p > end) return -1;
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
    const json = this.#json;
    if (json !== undefined) {
      const at = this.#jsonAt;
      try {
        json.read(b, off + 2, at);
      } catch {
        this.#generic(b, off + 2);
        throw new CodecError('COPY binary tuple could not be decoded');
      }
      this.#rows++;
      json.onRow(at.row, at.key);
      return at.p;
    }
    const read = this.#read;
    let row: Row;
    let p: number;
    if (read !== undefined) {
      try {
        row = read(b, off + 2, this.#at);
      } catch {
        // Name the failing column (the generic loop throws the same way it always did).
        this.#generic(b, off + 2);
        throw new CodecError('COPY binary tuple could not be decoded');
      }
      p = this.#at.p;
    } else {
      row = this.#generic(b, off + 2);
      p = this.#at.p;
    }
    this.#rows++;
    this.#onRow(row);
    return p;
  }

  /** The field-by-field decode of a tuple's fields at `p`; names the column that fails. */
  #generic(b: Buffer, p: number): Row {
    const cols = this.#columns;
    const row: Row = {};
    for (let i = 0; i < cols.length; i++) {
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
    this.#at.p = p;
    return row;
  }
}

/**
 * A pgoutput tuple written as the key and row JSON of a stream record, byte by byte, straight
 * into the batch being built (`EncodedEventsBuilder`'s in-place writing): the same bytes as
 * `valueToJson` of the key and row the object path builds, without a string per value or per
 * record.
 *
 * Why: writing the record as one concatenated string cost, per ~400-byte record, ~1.3 µs to
 * flatten and encode the rope, ~1.5 µs to build its pieces, and a share of the GC for them
 * (profile of the durable large-transaction drain, docs/benchmarks.md "postgres"). Most values
 * are copied as they are: integers, numerics and plain ASCII text are already (or are wrapped
 * into) their JSON; timestamps are converted once per distinct text per column. Any other value,
 * and any text that needs escaping or is not ASCII, goes through its {@link ColumnJson} string,
 * so nothing is written differently from the object path (test/sources/postgres/encoded.test.ts
 * compares both byte for byte).
 */
import type { EncodedEventsBuilder } from '../../core/encoded-events.ts';
import { CodecError } from '../../core/errors.ts';
import { quoteKey } from '../../core/values.ts';
import { fastMicros, type Latin1Text } from './column-readers.ts';
import type { RelationState } from './relations.ts';
import { columnJsonFor, type ColumnJson } from './tuple-json.ts';
import { parseBool, parseInt32, parseInt64, parseNumeric, parseString, parseTimestamp, parseTimestamptz, type TextParser } from './type-parsers.ts';

/** Writes the value JSON of one text-format column value (bytes `s..e` of `b`) at `out.at`. */
export type ColumnWriter = (b: Buffer, s: number, e: number, text: Latin1Text, out: EncodedEventsBuilder) => void;

const I_OPEN = Buffer.from('{"$i":"');
const N_OPEN = Buffer.from('{"$n":"');
const STR_CLOSE = Buffer.from('"}');
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');

/**
 * Copies bytes `s..e` of `b` to `out.at`. Byte loops cost ~3-6 ns per byte on the machines
 * measured and a native copy ~100-150 ns per call: short values are looped, long ones copied.
 */
function copy(b: Buffer, s: number, e: number, out: EncodedEventsBuilder): void {
  const n = e - s;
  let o = out.at;
  if (o + n > out.buf.length) out.room(n);
  const d = out.buf;
  if (n > 24) b.copy(d, o, s, e);
  else for (let i = s; i < e; i++) d[o++] = b[i] as number;
  out.at = out.at + n;
}

/** Copies the constant `c` to `out.at` (looped when short, like {@link copy}). */
function put(c: Uint8Array, out: EncodedEventsBuilder): void {
  const n = c.length;
  let o = out.at;
  if (o + n > out.buf.length) out.room(n);
  const d = out.buf;
  if (n > 24) d.set(c, o);
  else for (let i = 0; i < n; i++) d[o++] = c[i] as number;
  out.at = out.at + n;
}

/**
 * The writer for a column parsed by `parse` (its string writer `json`, used for everything the
 * byte paths do not cover). Each column gets its own (the timestamp writer remembers its last value).
 */
export function columnWriterFor(parse: TextParser, json: ColumnJson): ColumnWriter {
  switch (parse) {
    case parseInt32:
      // int4/int2 output is plain digits with an optional '-': its JSON as it is.
      return (b, s, e, _text, out) => copy(b, s, e, out);
    case parseInt64:
      return (b, s, e, _text, out) => {
        put(I_OPEN, out);
        copy(b, s, e, out);
        put(STR_CLOSE, out);
      };
    case parseNumeric:
      return (b, s, e, _text, out) => {
        put(N_OPEN, out);
        copy(b, s, e, out);
        put(STR_CLOSE, out);
      };
    case parseBool:
      return (b, s, e, _text, out) => put(e - s === 1 && b[s] === 0x74 ? TRUE : FALSE, out);
    case parseString:
      return (b, s, e, text, out) => {
        // Printable ASCII other than '"' and '\' is its own JSON string content: copy it while
        // checking, and start over through the string writer at the first byte that is not.
        const start = out.at;
        if (start + e - s + 2 > out.buf.length) out.room(e - s + 2);
        const d = out.buf;
        let o = start;
        d[o++] = 0x22;
        for (let i = s; i < e; i++) {
          const c = b[i] as number;
          if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
            out.at = start;
            out.text(json(b, s, e, text));
            return;
          }
          d[o++] = c;
        }
        d[o++] = 0x22;
        out.at = o;
      };
    case parseTimestamp:
      return timestampWriter(json, false);
    case parseTimestamptz:
      return timestampWriter(json, true);
    default:
      return (b, s, e, text, out) => out.text(json(b, s, e, text));
  }
}

/**
 * Timestamps: `{"$tz":"<µs since 1970>"}` (`$ts` without time zone), as `valueToJson` writes the
 * reader's value. Rows of one statement often share a timestamp (`now()` is a transaction's
 * start), so the writer remembers the last text's bytes and its JSON and copies the JSON when
 * the next value has the same bytes; otherwise the common shape (the reader's `fastMicros`) is
 * converted and its digits written straight into the batch (no Timestamp, BigInt or string: a
 * stream of single-row transactions, each with its own `now()`, spent ~2 µs per row on those).
 * Anything else (infinity, BC, odd offsets, years the fast path leaves alone) takes the
 * column's JSON writer.
 */
function timestampWriter(json: ColumnJson, withTimeZone: boolean): ColumnWriter {
  const open = Buffer.from(withTimeZone ? '{"$tz":"' : '{"$ts":"');
  const last = Buffer.alloc(64);
  let lastLen = -1;
  const lastJson = Buffer.alloc(64);
  let lastJsonLen = 0;
  return (b, s, e, text, out) => {
    const n = e - s;
    if (n === lastLen) {
      let i = 0;
      while (i < n && b[s + i] === last[i]) i++;
      if (i === n) {
        const d = out.room(lastJsonLen);
        let o = out.at;
        for (let k = 0; k < lastJsonLen; k++) d[o++] = lastJson[k] as number;
        out.at = o;
        return;
      }
    }
    const start = out.at;
    const micros = fastMicros(b, s, e);
    if (micros === micros) {
      put(open, out);
      writeInteger(micros, out);
      put(STR_CLOSE, out);
    } else out.text(json(b, s, e, text));
    const len = out.at - start;
    if (n <= last.length && len <= lastJson.length) {
      b.copy(last, 0, s, e);
      lastLen = n;
      out.buf.copy(lastJson, 0, start, out.at);
      lastJsonLen = len;
    } else lastLen = -1;
  };
}

/** Decimal digits of a safe integer (what `BigInt(v).toString()` prints) at `out.at`. */
function writeInteger(v: number, out: EncodedEventsBuilder): void {
  const d = out.room(17);
  let o = out.at;
  if (v < 0) {
    d[o++] = 0x2d;
    v = -v;
  }
  let digits = 1;
  for (let x = v; x >= 10; x = Math.floor(x / 10)) digits++;
  let p = o + digits;
  out.at = p;
  do {
    const q = Math.floor(v / 10);
    d[--p] = 48 + (v - q * 10);
    v = q;
  } while (v > 0);
}

/** Per relation: each captured column's writer, each column's quoted name with its colon. */
interface RelationRecord {
  readonly writers: readonly (ColumnWriter | undefined)[];
  readonly names: readonly Uint8Array[];
  /** `,` and the quoted name with its colon: a column after the first. */
  readonly leads: readonly Uint8Array[];
  /** `changePartitionKey(schema, table, '')`: the key JSON follows. */
  readonly keyPrefix: string;
}

const byRelation = new WeakMap<RelationState, RelationRecord>();

function relationRecord(rel: RelationState): RelationRecord {
  let r = byRelation.get(rel);
  if (r === undefined) {
    r = {
      writers: rel.columns.map((c) => (c.captured ? columnWriterFor(c.parse, columnJsonFor(c.parse, c.read)) : undefined)),
      names: rel.columns.map((c) => Buffer.from(quoteKey(c.name) + ':', 'utf8')),
      leads: rel.columns.map((c) => Buffer.from(',' + quoteKey(c.name) + ':', 'utf8')),
      keyPrefix: rel.schemaName + '.' + rel.table + ':',
    };
    byRelation.set(rel, r);
  }
  return r;
}

/** Where each column's value lies in the scanned tuple: kind byte ('t', 'n', 'u') and bounds. */
let kinds = new Uint8Array(64);
let starts = new Int32Array(64);
let ends = new Int32Array(64);

/**
 * Writes the key and row JSON of one pgoutput tuple. {@link scan} first, then {@link writeKey}
 * and {@link writeRow} in the order the record needs them (the key comes before the row).
 */
export class TupleRecordWriter {
  #rel: RelationState | undefined;
  #r: RelationRecord | undefined;
  #b: Buffer = Buffer.alloc(0);
  #n = 0;

  /**
   * Reads the TupleData at `o` of `b` (relation `rel`): records where each value lies and pushes
   * the names of unchanged TOAST columns to `unchanged`. Returns the offset after the tuple.
   */
  scan(rel: RelationState, b: Buffer, o: number, unchanged: string[]): number {
    const r = rel === this.#rel ? (this.#r as RelationRecord) : relationRecord(rel);
    this.#rel = rel;
    this.#r = r;
    this.#b = b;
    const n = (b[o] as number) * 256 + (b[o + 1] as number);
    o += 2;
    if (kinds.length < n) {
      kinds = new Uint8Array(n);
      starts = new Int32Array(n);
      ends = new Int32Array(n);
    }
    const cols = rel.columns;
    for (let i = 0; i < n; i++) {
      const k = b[o++] as number;
      kinds[i] = k;
      if (k === 0x74 /* t */) {
        const len = (b[o] as number) * 0x1000000 + (((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number));
        o += 4;
        starts[i] = o;
        ends[i] = o + len;
        o += len;
      } else if (k === 0x75 /* u */) {
        if (r.writers[i] !== undefined) unchanged.push((cols[i] as { name: string }).name);
      } else if (k !== 0x6e /* n */) throw new CodecError(`unsupported pgoutput tuple column kind ${JSON.stringify(String.fromCharCode(k))}: Hydrant requests text format`);
    }
    this.#n = n;
    return o;
  }

  /** True when column `i` has a value in the row JSON (captured, and sent or NULL). */
  #present(i: number): boolean {
    return i < this.#n && (this.#r as RelationRecord).writers[i] !== undefined && kinds[i] !== 0x75;
  }

  /** Writes the value JSON of column `i` (present) at `out.at`. */
  #value(i: number, text: Latin1Text, out: EncodedEventsBuilder): void {
    if (kinds[i] === 0x6e) return put(NULL, out);
    try {
      ((this.#r as RelationRecord).writers[i] as ColumnWriter)(this.#b, starts[i] as number, ends[i] as number, text, out);
    } catch (err) {
      const rel = this.#rel as RelationState;
      throw new CodecError(`${rel.schemaName}.${rel.table}.${(rel.columns[i] as { name: string }).name}: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Writes the key JSON (key columns in key order; an absent value is `null`) and returns it
   * as the partition key (`changePartitionKey` of the same key JSON).
   */
  writeKey(text: Latin1Text, out: EncodedEventsBuilder): string {
    const rel = this.#rel as RelationState;
    const r = this.#r as RelationRecord;
    const start = out.at;
    put(OPEN, out);
    let first = true;
    for (const i of rel.keyIndexes) {
      if (rel.columns[i] === undefined) continue;
      put((first ? r.names[i] : r.leads[i]) as Uint8Array, out);
      first = false;
      if (this.#present(i)) this.#value(i, text, out);
      else put(NULL, out);
    }
    put(CLOSE, out);
    return r.keyPrefix + keyText(out.buf, start, out.at);
  }

  /**
   * Writes the row JSON: every present column in column order, or with `keyOnly` (a delete's
   * old-key tuple) the present key columns in key order.
   */
  writeRow(text: Latin1Text, out: EncodedEventsBuilder, keyOnly: boolean): void {
    const rel = this.#rel as RelationState;
    const r = this.#r as RelationRecord;
    put(OPEN, out);
    let first = true;
    if (keyOnly) {
      for (const i of rel.keyIndexes) {
        if (rel.columns[i] === undefined || !this.#present(i)) continue;
        put((first ? r.names[i] : r.leads[i]) as Uint8Array, out);
        first = false;
        this.#value(i, text, out);
      }
    } else {
      for (let i = 0; i < this.#n; i++) {
        if (!this.#present(i)) continue;
        put((first ? r.names[i] : r.leads[i]) as Uint8Array, out);
        first = false;
        this.#value(i, text, out);
      }
    }
    put(CLOSE, out);
  }
}

const OPEN = Buffer.from('{');
const CLOSE = Buffer.from('}');

/** Buffer's native slices (what `toString` calls after checking its arguments). Not in Node's types. */
interface NativeSlices {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

/** Bytes `s..e` of `b` (UTF-8) as a string: latin1 (cheaper) when they are all ASCII. */
function keyText(b: Buffer, s: number, e: number): string {
  for (let i = s; i < e; i++) if ((b[i] as number) >= 0x80) return (b as unknown as NativeSlices).utf8Slice(s, e);
  return (b as unknown as NativeSlices).latin1Slice(s, e);
}

/**
 * A tuple writer generated once per relation (`new Function`): the scan, the key and the row as
 * straight-line code, constant bytes (names, wrappers) as immediate stores, values of integer,
 * numeric, boolean and plain-text columns copied inline. Why: with one shared writer, every
 * value went through a call site that sees every column type's closure (no inlining) and every
 * constant through a loop over a buffer; on the machines measured that was ~1.5 µs of a ~400-byte
 * record. Values of other types (and text that needs escaping) call their column writer.
 * Returns false, writing nothing, when the tuple does not have the relation's column count (the
 * caller then uses {@link TupleRecordWriter}).
 *
 * `mode`: 0 a new tuple (insert, update: key, `,"before":null,"after":`, row), 1 a delete's
 * key-only old tuple (key, `,"before":`, key columns), 2 a delete's full old tuple (key,
 * `,"before":`, row). The key's bytes are left at `keyAt[0]..keyAt[1]`.
 */
export type GeneratedTupleWriter = (b: Buffer, o: number, out: EncodedEventsBuilder, text: Latin1Text, unchanged: string[], mode: number, keyAt: Int32Array) => boolean;

const generated = new WeakMap<RelationState, GeneratedTupleWriter | null>();

/** The generated writer of `rel`, or undefined when it has none (too many columns). */
export function generatedTupleWriter(rel: RelationState): GeneratedTupleWriter | undefined {
  let g = generated.get(rel);
  if (g === undefined) {
    g = generate(rel);
    generated.set(rel, g);
  }
  return g ?? undefined;
}

/** Stores of the constant bytes `c` at `d[p]`, then `p` advanced. */
function stores(c: Uint8Array | string): string {
  const bytes = typeof c === 'string' ? Buffer.from(c, 'utf8') : c;
  if (bytes.length === 0) return '';
  return Array.from(bytes, (x, i) => `d[p${i === 0 ? '' : ` + ${i}`}] = ${x};`).join(' ') + ` p += ${bytes.length};`;
}

function generate(rel: RelationState): GeneratedTupleWriter | null {
  const cols = rel.columns;
  const n = cols.length;
  if (n === 0 || n > 400) return null;
  const kind = (i: number): string => {
    const c = cols[i] as RelationState['columns'][number];
    if (!c.captured) return 'skip';
    switch (c.parse) {
      case parseInt32: return 'int32';
      case parseInt64: return 'int64';
      case parseNumeric: return 'numeric';
      case parseBool: return 'bool';
      case parseString: return 'string';
      default: return 'call';
    }
  };
  const name = (i: number): string => quoteKey((cols[i] as { name: string }).name) + ':';
  const call = (i: number, fn: string): string =>
    `out.at = p; try { ${fn}(b, s${i}, e${i}, text, out); } catch (err) { throw columnError(${i}, err); } d = out.room(bound); p = out.at;`;
  const value = (i: number): string => {
    const loop = `for (let x = s${i}; x < e${i}; x++) d[p++] = b[x];`;
    switch (kind(i)) {
      case 'int32': return loop;
      case 'int64': return `${stores('{"$i":"')} ${loop} ${stores('"}')}`;
      case 'numeric': return `${stores('{"$n":"')} ${loop} ${stores('"}')}`;
      case 'bool': return `if (e${i} - s${i} === 1 && b[s${i}] === 116) { ${stores('true')} } else { ${stores('false')} }`;
      case 'string':
        // Printable ASCII but '"' and '\' is its own JSON string content; anything else: the column writer.
        return `{ let x = s${i}; for (; x < e${i}; x++) { const c = b[x]; if (c < 32 || c > 126 || c === 34 || c === 92) break; }
          if (x < e${i}) { ${call(i, `w${i}`)} } else if (e${i} - s${i} > 48) { d[p++] = 34; b.copy(d, p, s${i}, e${i}); p += e${i} - s${i}; d[p++] = 34; }
          else { d[p++] = 34; for (let y = s${i}; y < e${i}; y++) d[p++] = b[y]; d[p++] = 34; } }`;
      default: return call(i, `w${i}`);
    }
  };
  const body: string[] = [];
  body.push(`if (((b[o] << 8) | b[o + 1]) !== ${n}) return false;`, 'const start = o;', 'o += 2;');
  for (let i = 0; i < n; i++) {
    const captured = kind(i) !== 'skip';
    body.push(`const k${i} = b[o++]; let s${i} = 0; let e${i} = 0;
      if (k${i} === 116) { s${i} = o + 4; e${i} = s${i} + (((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0); o = e${i}; }
      else if (k${i} === 117) { ${captured ? `unchanged.push(${JSON.stringify((cols[i] as { name: string }).name)});` : ''} }
      else if (k${i} !== 110) throw badKind(k${i});`);
  }
  // Every fast value is at most its bytes plus a 9-byte wrapper and is written at most twice
  // (key and row); names, braces and the before/after text are constant.
  const constant = 2 * Array.from({ length: n }, (_, i) => Buffer.byteLength(name(i)) + 12).reduce((a, x) => a + x, 0) + 64;
  body.push(`const bound = ${constant} + 2 * (o - start);`, 'let d = out.room(bound);', 'let p = out.at;', 'keyAt[0] = p;', stores('{'));
  const keyCols = rel.keyIndexes.filter((i) => cols[i] !== undefined);
  keyCols.forEach((i, j) => {
    body.push(stores((j === 0 ? '' : ',') + name(i)));
    body.push(kind(i) === 'skip' ? stores('null') : `if (k${i} === 116) { ${value(i)} } else { ${stores('null')} }`);
  });
  body.push(stores('}'), 'keyAt[1] = p;');
  body.push(`if (mode === 0) { ${stores(',"before":null,"after":')} } else { ${stores(',"before":')} }`);
  // A row: present columns (captured, not unchanged TOAST) in order; NULL as null.
  const row = (list: readonly number[]): string => {
    const parts = ['let f = false;', stores('{')];
    for (const i of list) {
      if (kind(i) === 'skip') continue;
      parts.push(`if (k${i} !== 117) { if (f) { d[p++] = 44; } f = true; ${stores(name(i))} if (k${i} === 116) { ${value(i)} } else { ${stores('null')} } }`);
    }
    parts.push(stores('}'));
    return parts.join('\n');
  };
  body.push(`if (mode === 1) { ${row(keyCols)} } else { ${row(Array.from({ length: n }, (_, i) => i))} }`);
  body.push('out.at = p;', 'return true;');
  const params = Array.from({ length: n }, (_, i) => `w${i}`);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function('badKind', 'columnError', ...params, `return function writeTuple(b, o, out, text, unchanged, mode, keyAt) {\n${body.join('\n')}\n};`) as (...a: unknown[]) => GeneratedTupleWriter;
  const r = relationRecord(rel);
  const badKind = (k: number): Error => new CodecError(`unsupported pgoutput tuple column kind ${JSON.stringify(String.fromCharCode(k))}: Hydrant requests text format`);
  const columnError = (i: number, err: unknown): Error => new CodecError(`${rel.schemaName}.${rel.table}.${(cols[i] as { name: string }).name}: ${(err as Error).message}`, { cause: err });
  return make(badKind, columnError, ...r.writers);
}

/** Scratch for building partition keys as one flat string (see {@link partitionKeyAt}). */
const keyScratch = Buffer.allocUnsafe(1024);
let lastKeyRel: RelationState | undefined;
let lastPrefix: Uint8Array = new Uint8Array(0);
let lastPrefixText = '';

/**
 * The partition key of the key JSON at `keyAt` in `out` (for {@link GeneratedTupleWriter}):
 * `changePartitionKey` of it. ASCII keys are made with one native slice of the prefix and key
 * copied together, a flat string: a prefix + key concatenation is a rope that the router's MD5
 * then flattens again (two more allocations per record, kept alive with the batch).
 */
export function partitionKeyAt(rel: RelationState, out: EncodedEventsBuilder, keyAt: Int32Array): string {
  if (rel !== lastKeyRel) {
    lastPrefixText = relationRecord(rel).keyPrefix;
    lastPrefix = Buffer.from(lastPrefixText, 'utf8');
    lastKeyRel = rel;
  }
  const b = out.buf;
  const s = keyAt[0] as number;
  const e = keyAt[1] as number;
  const p = lastPrefix;
  const n = p.length + e - s;
  if (n <= keyScratch.length && p.length === lastPrefixText.length) {
    const d = keyScratch;
    let o = 0;
    for (; o < p.length; o++) d[o] = p[o] as number;
    let i = s;
    for (; i < e; i++) {
      const c = b[i] as number;
      if (c >= 0x80) break;
      d[o++] = c;
    }
    if (i === e) return (d as unknown as NativeSlices).latin1Slice(0, n);
  }
  return lastPrefixText + keyText(b, s, e);
}

/**
 * Turns decoded pgoutput changes into {@link ChangeEvent}s. An update that changes the key is
 * emitted as a delete of the old key followed by an insert of the new one (consecutive
 * positions), so each key's history stays on its own partition and in order.
 */
import { changeHeadJson, type ChangeEvent, type ChangeOp } from '../../core/change-event.ts';
import type { EncodedEventsBuilder } from '../../core/encoded-events.ts';
import { valueToJson, type Row, type Timestamp } from '../../core/values.ts';
import { generatedTupleWriter, partitionKeyAt, TupleRecordWriter } from './tuple-record.ts';
import { tupleJsonSupported } from './tuple-json.ts';
import { UNCHANGED, type PgoutputMessage, type TupleData } from './pgoutput-decoder.ts';
import { fastTuple, keyOf, readTuple, tupleToRow, type RelationState } from './relations.ts';
import type { Latin1Text } from './column-readers.ts';
import { HEX2, hex8 } from './lsn.ts';

/** The transaction a change belongs to. */
export interface TxContext {
  /** `formatPosition(commitLsn, 0)` up to and including the `/`: computed once per transaction. */
  readonly prefix: string;
  readonly xid: string;
  readonly commitTime: Timestamp;
  /** Index of the next event within the transaction. */
  index: number;
  /** `","txId":…,"commitTime":…},"key":` of this transaction's records, made by the first one. */
  midText?: string;
  /** {@link midText} as UTF-8, made by the second record (a single-row transaction needs no Buffer). */
  recordMid?: Buffer;
  /** `index >>> 8` that {@link blockPrefix} was made for (-1: none yet). */
  block: number;
  /** The position of event `block << 8` without its last two hex digits. */
  blockPrefix: string;
}

/** A transaction's context; `prefix` is `formatPosition(commitLsn, 0)` up to the `/`. */
export function txContext(prefix: string, xid: number, commitTime: Timestamp): TxContext {
  return { prefix, xid: String(xid), commitTime, index: 0, block: -1, blockPrefix: '' };
}

/**
 * The bytes of a relation's records that are the same for every change: the head per op (up to
 * the position's opening quote) and the tails after the row (a relation's schema version is
 * fixed: a new version comes with a new RelationState).
 */
interface RecordParts {
  readonly insert: Buffer;
  readonly update: Buffer;
  readonly delete: Buffer;
  readonly tail: Buffer;
  readonly deleteTail: Buffer;
}

const BEFORE = Buffer.from(',"before":');
const BEFORE_NULL_AFTER = Buffer.from(',"before":null,"after":');

/** The next event's position in `tx` (one string concatenation for most events). */
function nextPosition(tx: TxContext): string {
  const i = tx.index++;
  if (i === 0) return tx.prefix + '00000000';
  const block = i >>> 8;
  if (block !== tx.block) {
    tx.block = block;
    tx.blockPrefix = tx.prefix + hex8(i).substring(0, 6);
  }
  return tx.blockPrefix + (HEX2[i & 255] as string);
}

type Change = Extract<PgoutputMessage, { tag: 'insert' | 'update' | 'delete' | 'truncate' }>;

/** Builds events for one source. */
export class ChangeBuilder {
  readonly #source: string;
  readonly #database: string;

  constructor(source: string, database: string) {
    this.#source = source;
    this.#database = database;
  }

  /**
   * The hot path: an Insert, an Update that carries no old tuple, or a Delete, read straight
   * from the message bytes. `o` is the offset just after the relid. Returns false (and appends
   * nothing) when the message needs {@link build} (an Update with an old tuple).
   */
  buildRaw(tag: number, r: RelationState, b: Buffer, o: number, tx: TxContext, out: ChangeEvent[], text: Latin1Text): boolean {
    const kind = b[o];
    if (tag === 0x44 /* D */) {
      if (kind !== 0x4b /* K */ && kind !== 0x4f /* O */) return false;
    } else if (kind !== 0x4e /* N */) return false;
    if (!r.captured) return true;
    const fast = fastTuple(r);
    if (fast !== undefined) {
      let row: Row | undefined;
      try {
        row = fast.row(b, o + 1, text);
      } catch {
        row = undefined; // the general reader below reports it, naming the column
      }
      if (row !== undefined) {
        if (tag === 0x44) out.push(this.#event('delete', r, tx, fast.key(row), kind === 0x4f ? row : fast.key(row), null, undefined));
        else out.push(this.#event(tag === 0x49 ? 'insert' : 'update', r, tx, fast.key(row), null, row, undefined));
        return true;
      }
    }
    const unchanged = this.#unchanged;
    const row: Row = {};
    readTuple(r, b, o + 1, row, unchanged, text);
    const key: Row = {};
    const cols = r.columns;
    if (tag === 0x44) {
      // An old-key tuple carries only the key: `before` is those columns (a full one, the row).
      unchanged.length = 0;
      const before: Row = kind === 0x4f ? row : {};
      for (const i of r.keyIndexes) {
        const c = cols[i];
        if (c === undefined) continue;
        const v = row[c.name];
        key[c.name] = v === undefined ? null : v;
        if (kind === 0x4b && v !== undefined) before[c.name] = v;
      }
      out.push(this.#event('delete', r, tx, key, before, null, undefined));
      return true;
    }
    for (const i of r.keyIndexes) {
      const c = cols[i];
      if (c === undefined) continue;
      const v = row[c.name];
      // Absent: an unchanged TOAST key column, which the general path also keys as null.
      key[c.name] = v === undefined ? null : v;
    }
    let u: string[] | undefined;
    if (unchanged.length > 0) {
      u = unchanged.slice();
      unchanged.length = 0;
    }
    out.push(this.#event(tag === 0x49 ? 'insert' : 'update', r, tx, key, null, row, u));
    return true;
  }

  /**
   * {@link buildRaw} writing the event straight as a stream record into `out` (see
   * encoded-events.ts): the same bytes, key, position and table as the event `buildRaw` builds
   * would encode to. Returns false (and writes nothing) when the message needs {@link build},
   * or when the relation's rows cannot be written this way (see `tupleJsonSupported`).
   */
  buildRawJson(tag: number, r: RelationState, b: Buffer, o: number, tx: TxContext, out: EncodedEventsBuilder, text: Latin1Text): boolean {
    const kind = b[o];
    if (tag === 0x44 /* D */) {
      if (kind !== 0x4b /* K */ && kind !== 0x4f /* O */) return false;
    } else if (kind !== 0x4e /* N */) return false;
    if (!r.captured) return true;
    if (!tupleJsonSupported(r)) return false;
    const unchanged = this.#unchanged;
    const op: ChangeOp = tag === 0x44 ? 'delete' : tag === 0x49 ? 'insert' : 'update';
    const position = nextPosition(tx);
    // The bytes around the values, as changeJson writes them: the head per relation and op, the
    // transaction's part once per transaction. Positions are hex and '/', xids digits: they
    // need no escaping.
    try {
      const h = this.#heads(r);
      out.bytes(h[op]);
      out.text(position);
      if (tx.recordMid !== undefined) out.bytes(tx.recordMid);
      else if (tx.midText === undefined) out.text(tx.midText = '","txId":"' + tx.xid + '","commitTime":' + valueToJson(tx.commitTime) + '},"key":');
      else out.bytes(tx.recordMid = Buffer.from(tx.midText, 'utf8'));
      // Key, before/after and row: the relation's generated writer, or the general one for a
      // tuple whose column count differs from the relation's.
      const g = generatedTupleWriter(r);
      let key: string;
      if (g !== undefined && g(b, o + 1, out, text, unchanged, tag !== 0x44 ? 0 : kind === 0x4b ? 1 : 2, this.#keyAt)) key = partitionKeyAt(r, out, this.#keyAt);
      else {
        const t = this.#tuple;
        t.scan(r, b, o + 1, unchanged);
        key = t.writeKey(text, out);
        out.bytes(tag === 0x44 ? BEFORE : BEFORE_NULL_AFTER);
        t.writeRow(text, out, tag === 0x44 && kind === 0x4b);
      }
      if (tag === 0x44) {
        unchanged.length = 0;
        out.bytes(h.deleteTail);
      } else if (unchanged.length > 0) {
        out.text(',"schemaVersion":' + r.schema.version + ',"unchanged":' + JSON.stringify(unchanged) + '}');
        unchanged.length = 0;
      } else out.bytes(h.tail);
      out.end(key, position, r.table);
    } catch (err) {
      // Nothing half-written stays in the batch.
      out.abandon();
      unchanged.length = 0;
      throw err;
    }
    return true;
  }

  /** The constant parts of a relation's records (the last relation's kept at hand: changes come in runs). */
  #heads(r: RelationState): RecordParts {
    if (r === this.#lastRel) return this.#lastParts as RecordParts;
    let h = this.#headCache.get(r);
    if (h === undefined) {
      const src = { kind: 'postgres', name: this.#source, database: this.#database, schema: r.schemaName, table: r.table };
      const head = (op: ChangeOp): Buffer => Buffer.from(changeHeadJson(op, src) + '"', 'utf8');
      h = {
        insert: head('insert'), update: head('update'), delete: head('delete'),
        tail: Buffer.from(',"schemaVersion":' + r.schema.version + '}'),
        deleteTail: Buffer.from(',"after":null,"schemaVersion":' + r.schema.version + '}'),
      };
      this.#headCache.set(r, h);
    }
    this.#lastRel = r;
    this.#lastParts = h;
    return h;
  }

  readonly #headCache = new WeakMap<RelationState, RecordParts>();
  #lastRel: RelationState | undefined;
  #lastParts: RecordParts | undefined;
  readonly #tuple = new TupleRecordWriter();
  /** Where the generated tuple writer left the key's bytes. */
  readonly #keyAt = new Int32Array(2);

  /** Scratch list of unchanged columns for {@link buildRaw} (copied only when not empty). */
  readonly #unchanged: string[] = [];

  /** Appends the events of one change to `out`; `rel` resolves a relid. */
  build(m: Change, rel: (relid: number) => RelationState, tx: TxContext, out: ChangeEvent[]): void {
    if (m.tag === 'truncate') {
      for (const id of m.relids) {
        const r = rel(id);
        if (r.captured) out.push(this.#event('truncate', r, tx, {}, null, null, undefined));
      }
      return;
    }
    const r = rel(m.relid);
    if (!r.captured) return;
    if (m.tag === 'insert') {
      const unchanged: string[] = [];
      const after = tupleToRow(r, m.newTuple, unchanged);
      out.push(this.#event('insert', r, tx, keyFromRow(r, after, m.newTuple), null, after, unchanged));
    } else if (m.tag === 'delete') {
      const before = tupleToRow(r, m.oldTuple);
      out.push(this.#event('delete', r, tx, keyOf(r, m.oldTuple), m.oldKind === 'O' ? before : stripNulls(before, r, m.oldTuple), null, undefined));
    } else {
      const unchanged: string[] = [];
      const full = m.oldKind === 'O' ? m.oldTuple : undefined;
      const after = tupleToRow(r, m.newTuple, unchanged, full);
      const newKey = keyFromRow(r, after, m.newTuple);
      const before = m.oldTuple === undefined ? null : tupleToRow(r, m.oldTuple);
      if (m.oldTuple !== undefined && r.keyIndexes.length > 0 && keyChanged(r, m.oldTuple, m.newTuple)) {
        out.push(this.#event('delete', r, tx, keyOf(r, m.oldTuple), m.oldKind === 'O' ? before : stripNulls(before ?? {}, r, m.oldTuple), null, undefined));
        out.push(this.#event('insert', r, tx, newKey, null, after, unchanged));
        return;
      }
      out.push(this.#event('update', r, tx, newKey, m.oldKind === 'O' ? before : null, after, unchanged));
    }
  }

  #event(op: ChangeOp, r: RelationState, tx: TxContext, key: Row, before: Row | null, after: Row | null, unchanged: string[] | undefined): ChangeEvent {
    // One object shape for every event (no spreads): cheaper to build and to encode.
    const ev: { -readonly [K in keyof ChangeEvent]: ChangeEvent[K] } = {
      op,
      source: {
        kind: 'postgres',
        name: this.#source,
        database: this.#database,
        schema: r.schemaName,
        table: r.table,
        position: nextPosition(tx),
        txId: tx.xid,
        commitTime: tx.commitTime,
      },
      key,
      before,
      after,
      schemaVersion: r.schema.version,
    };
    if (unchanged !== undefined && unchanged.length > 0) ev.unchanged = unchanged;
    return ev;
  }
}

/** The key columns, taken from the already parsed row when it has them. */
function keyFromRow(r: RelationState, row: Row, t: TupleData): Row {
  const key: Row = {};
  for (const i of r.keyIndexes) {
    const c = r.columns[i];
    if (c === undefined) continue;
    const v = row[c.name];
    if (v === undefined) return keyOf(r, t);
    key[c.name] = v;
  }
  return key;
}

function keyChanged(r: RelationState, oldT: TupleData, newT: TupleData): boolean {
  for (const i of r.keyIndexes) {
    const a = oldT[i];
    const b = newT[i];
    if (b !== UNCHANGED && a !== b) return true;
  }
  return false;
}

/** An old-key tuple only carries the key: keep just those columns as `before`. */
function stripNulls(row: Row, r: RelationState, t: TupleData): Row {
  const out: Row = {};
  for (const i of r.keyIndexes) {
    const c = r.columns[i];
    if (c !== undefined && t[i] !== undefined && c.name in row) out[c.name] = row[c.name] ?? null;
  }
  return out;
}

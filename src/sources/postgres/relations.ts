/**
 * Relation (table) state from pgoutput Relation messages: column parsers, which columns are
 * captured, the key, and the table's schema version. A Relation message whose columns or
 * types differ from the newest recorded schema yields a new version (added, dropped and
 * retyped columns never stop the pipeline). Every Relation message gets its own serial, so
 * spilled changes of a streamed transaction decode with the columns they were written with.
 */
import type { Logger } from '../../core/logger.ts';
import { latestSchema, tableId, type ColumnSchema, type TableSchema } from '../../core/schema.ts';
import type { StateStore } from '../../state/state-store.ts';
import { CodecError } from '../../core/errors.ts';
import type { Row } from '../../core/values.ts';
import type { TableSelection } from './config.ts';
import type { SqlClient } from './catalog.ts';
import { UNCHANGED, type PgoutputMessage, type TupleData } from './pgoutput-decoder.ts';
import type { TextParser } from './type-parsers.ts';
import { columnReader, type ColumnReader, type Latin1Text } from './column-readers.ts';
import type { TypeResolver } from './type-map.ts';

type RelationMessage = Extract<PgoutputMessage, { tag: 'relation' }>;

/** One column as the source decodes it. */
export interface RelationColumnState {
  readonly name: string;
  readonly parse: TextParser;
  /** The same parse, straight from message bytes (see column-readers.ts). */
  readonly read: ColumnReader;
  /** false when `exclude_columns` drops it. */
  readonly captured: boolean;
}

/** A table at one Relation message. */
export interface RelationState {
  readonly serial: number;
  readonly relid: number;
  readonly schemaName: string;
  readonly table: string;
  /** false when include/exclude leave the table out: its changes are dropped. */
  readonly captured: boolean;
  readonly columns: readonly RelationColumnState[];
  /** Indexes (into `columns`) of the key: primary key, else replica identity columns. */
  readonly keyIndexes: readonly number[];
  readonly schema: TableSchema;
}

/** What {@link Relations} needs. */
export interface RelationsOptions {
  readonly source: string;
  readonly database: string;
  readonly selection: TableSelection;
  readonly resolver: TypeResolver;
  readonly state: StateStore;
  readonly sql: SqlClient;
  readonly logger: Logger;
}

/** Tracks relations of one replication connection. */
export class Relations {
  readonly #o: RelationsOptions;
  readonly #byRelid = new Map<number, RelationState>();
  /**
   * Relation messages sent inside a streamed transaction apply only to that transaction until
   * it commits (pgoutput keeps the two apart: a concurrent non-streamed transaction still uses
   * the committed schema and is not sent a new Relation message).
   */
  readonly #streamed = new Map<number, Map<number, RelationState>>();
  readonly #bySerial = new Map<number, RelationState>();
  /** Newest schema per table id (recorded or handed out in a batch). */
  readonly #latest = new Map<string, TableSchema>();
  #serial = 0;

  constructor(o: RelationsOptions) {
    this.#o = o;
  }

  /**
   * Applies a Relation message (inside the stream of top-level transaction `streamXid`, when
   * given); returns the new schema version when there is one.
   */
  async apply(m: RelationMessage, streamXid?: number): Promise<{ rel: RelationState; newSchema: TableSchema | undefined }> {
    const o = this.#o;
    const captured = o.selection.table(m.namespace, m.name);
    const columns: RelationColumnState[] = [];
    const schemaCols: ColumnSchema[] = [];
    const meta = captured ? await this.#catalogMeta(m.relid) : { pk: [], notNull: new Set<string>() };
    for (const c of m.columns) {
      const t = await o.resolver.resolve(c.typeOid, c.typmod);
      const keep = o.selection.column(m.namespace, m.name, c.name) || (c.flags & 1) === 1 || meta.pk.includes(c.name);
      columns.push({ name: c.name, parse: t.parse, read: columnReader(t), captured: keep });
      if (keep) schemaCols.push({ name: c.name, type: t.type, nullable: !meta.notNull.has(c.name), sourceType: t.sourceType });
    }
    let keyNames = meta.pk.filter((n) => m.columns.some((c) => c.name === n));
    if (keyNames.length === 0 && m.replicaIdentity !== 'f') keyNames = m.columns.filter((c) => (c.flags & 1) === 1).map((c) => c.name);
    const keyIndexes = keyNames.map((n) => m.columns.findIndex((c) => c.name === n));
    const id = tableId({ source: o.source, schema: m.namespace, table: m.name });
    let latest = this.#latest.get(id);
    if (latest === undefined && captured) latest = await latestSchema(o.state, { source: o.source, schema: m.namespace, table: m.name });
    const candidate = { columns: schemaCols, primaryKey: keyNames };
    let schema: TableSchema;
    let newSchema: TableSchema | undefined;
    if (latest !== undefined && JSON.stringify([latest.columns, latest.primaryKey]) === JSON.stringify([candidate.columns, candidate.primaryKey])) {
      schema = latest;
    } else {
      schema = { source: o.source, database: o.database, schema: m.namespace, table: m.name, version: (latest?.version ?? 0) + 1, ...candidate };
      if (captured) {
        newSchema = schema;
        o.logger.info('table schema version', { table: `${m.namespace}.${m.name}`, version: schema.version });
      }
    }
    this.#latest.set(id, schema);
    const rel: RelationState = { serial: ++this.#serial, relid: m.relid, schemaName: m.namespace, table: m.name, captured, columns, keyIndexes, schema };
    if (streamXid === undefined) this.#byRelid.set(m.relid, rel);
    else {
      let overlay = this.#streamed.get(streamXid);
      if (overlay === undefined) this.#streamed.set(streamXid, (overlay = new Map()));
      overlay.set(m.relid, rel);
    }
    this.#bySerial.set(rel.serial, rel);
    return { rel, newSchema };
  }

  /** A streamed transaction committed: its Relation messages now describe the tables. */
  commitStream(xid: number): void {
    const overlay = this.#streamed.get(xid);
    this.#streamed.delete(xid);
    if (overlay !== undefined) for (const [relid, rel] of overlay) this.#byRelid.set(relid, rel);
  }

  /** A streamed transaction aborted (or the connection was lost): forget its Relation messages. */
  abortStream(xid?: number): void {
    if (xid === undefined) this.#streamed.clear();
    else this.#streamed.delete(xid);
  }

  /** The state of a relation (as seen inside streamed transaction `streamXid`, when given). */
  get(relid: number, streamXid?: number): RelationState {
    const r = (streamXid === undefined ? undefined : this.#streamed.get(streamXid)?.get(relid)) ?? this.#byRelid.get(relid);
    if (r === undefined) throw new CodecError(`pgoutput change for relation ${relid} arrived before its Relation message: protocol violation`);
    return r;
  }

  /** The committed state of a table by name, if the server described it on this connection. */
  byName(schema: string, table: string): RelationState | undefined {
    for (const r of this.#byRelid.values()) if (r.schemaName === schema && r.table === table) return r;
    return undefined;
  }

  /** The relation state a spilled change was recorded with. */
  bySerial(serial: number): RelationState {
    const r = this.#bySerial.get(serial);
    if (r === undefined) throw new CodecError(`spilled change refers to unknown relation serial ${serial}`);
    return r;
  }

  async #catalogMeta(relid: number): Promise<{ pk: string[]; notNull: Set<string> }> {
    // Catalog as of now (not as of the WAL position): only used for key order and nullability.
    const r = await this.#o.sql.query(`select a.attname::text as name, a.attnotnull as nn,
        (select array_position(i.indkey::int2[], a.attnum) from pg_index i where i.indrelid = a.attrelid and i.indisprimary) as pkpos
      from pg_attribute a where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped`, [relid]);
    const pk = r.rows.filter((x) => x['pkpos'] !== null).sort((a, b) => Number(a['pkpos']) - Number(b['pkpos'])).map((x) => String(x['name']));
    return { pk, notNull: new Set(r.rows.filter((x) => x['nn'] === true).map((x) => String(x['name']))) };
  }
}

/**
 * Builds a row from a tuple. Unchanged TOAST columns are left out and reported through
 * `unchanged` (filled from `fallback`, the old tuple, when it carries them).
 */
export function tupleToRow(rel: RelationState, t: TupleData, unchanged?: string[], fallback?: TupleData): Row {
  const row: Row = {};
  const cols = rel.columns;
  const n = Math.min(cols.length, t.length);
  for (let i = 0; i < n; i++) {
    const c = cols[i] as RelationColumnState;
    if (!c.captured) continue;
    let v = t[i];
    if (v === UNCHANGED) {
      const f = fallback?.[i];
      if (f === undefined || f === UNCHANGED) {
        unchanged?.push(c.name);
        continue;
      }
      v = f;
    }
    if (v === null || v === undefined) row[c.name] = null;
    else {
      try {
        row[c.name] = c.parse(v);
      } catch (err) {
        throw new CodecError(`${rel.schemaName}.${rel.table}.${c.name}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
  return row;
}

/**
 * Reads the tuple (TupleData) at offset `o` of `b` straight into `row`, like {@link tupleToRow}
 * without an old tuple to fall back on: unchanged TOAST columns are left out and named in
 * `unchanged`. Returns the offset after the tuple.
 */
export function readTuple(rel: RelationState, b: Buffer, o: number, row: Row, unchanged: string[], text: Latin1Text): number {
  const cols = rel.columns;
  const n = (b[o] as number) * 256 + (b[o + 1] as number);
  o += 2;
  for (let i = 0; i < n; i++) {
    const k = b[o++];
    const c = cols[i];
    if (k === 0x74 /* t */) {
      const len = (b[o] as number) * 0x1000000 + (((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number));
      o += 4;
      if (c !== undefined && c.captured) {
        try {
          row[c.name] = c.read(b, o, o + len, text);
        } catch (err) {
          throw new CodecError(`${rel.schemaName}.${rel.table}.${c.name}: ${(err as Error).message}`, { cause: err });
        }
      }
      o += len;
    } else if (k === 0x6e /* n */) {
      if (c !== undefined && c.captured) row[c.name] = null;
    } else if (k === 0x75 /* u */) {
      if (c !== undefined && c.captured) unchanged.push(c.name);
    } else throw new CodecError(`unsupported pgoutput tuple column kind ${JSON.stringify(String.fromCharCode(k ?? 0))}: Hydrant requests text format`);
  }
  return o;
}

/** A relation's generated tuple reader (see {@link fastTuple}). */
export interface FastTuple {
  /**
   * The row of the tuple at `o` (its column count), or undefined when the tuple needs
   * {@link readTuple}: a different column count, an unchanged TOAST value in a captured column,
   * or a value that fails to parse (readTuple then names the column).
   */
  readonly row: (b: Buffer, o: number, text: Latin1Text) => Row | undefined;
  /** The key of a row that {@link row} made (every key column is in it). */
  readonly key: (row: Row) => Row;
}

const fastTuples = new WeakMap<RelationState, FastTuple | null>();

/**
 * A reader generated once per relation (`new Function`) that builds the row as one object
 * literal and calls each column's reader from its own call site. Assigning fields by computed
 * name (`row[name] = v`, as {@link readTuple} does) made V8 use keyed stores, grow each row
 * through a chain of hidden classes and move fields past the fourth out of the object: with
 * thousands of rows alive in a batch that also made every young-generation GC dearer. The
 * generated code reads the same bytes with the same readers and makes the same keys in the same
 * order. Undefined for relations it cannot serve (a `__proto__` column, too many columns).
 */
export function fastTuple(rel: RelationState): FastTuple | undefined {
  const cached = fastTuples.get(rel);
  if (cached !== undefined) return cached ?? undefined;
  const cols = rel.columns;
  const keyCols = rel.keyIndexes.map((i) => cols[i]);
  let made: FastTuple | null = null;
  if (cols.length <= 1000 && !cols.some((c) => c.name === '__proto__') && keyCols.every((c) => c !== undefined && c.captured)) {
    const n = cols.length;
    const body: string[] = [`if (b[o] !== ${n >> 8} || b[o + 1] !== ${n & 255}) return undefined;`, 'o += 2;', 'let k = 0, len = 0;'];
    const fields: string[] = [];
    cols.forEach((c, i) => {
      body.push('k = b[o++];');
      body.push('if (k === 116) { len = b[o] * 16777216 + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]); o += 4;');
      if (c.captured) {
        body.push(`  var v${i} = r${i}(b, o, o + len, text); o += len; }`);
        body.push(`else if (k === 110) var v${i} = null; else return undefined;`);
        fields.push(`${JSON.stringify(c.name)}: v${i}`);
      } else {
        body.push('  o += len; }');
        body.push('else if (k !== 110 && k !== 117) return undefined;');
      }
    });
    body.push(`return { ${fields.join(', ')} };`);
    const params = cols.map((_, i) => `r${i}`);
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const makeRow = new Function(...params, `return function readRow(b, o, text) {\n${body.join('\n')}\n};`) as (...r: ColumnReader[]) => FastTuple['row'];
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const key = new Function('row', `return { ${keyCols.map((c) => `${JSON.stringify((c as RelationColumnState).name)}: row[${JSON.stringify((c as RelationColumnState).name)}]`).join(', ')} };`) as FastTuple['key'];
    made = { row: makeRow(...cols.map((c) => c.read)), key };
  }
  fastTuples.set(rel, made);
  return made ?? undefined;
}

/** The key columns of a row (empty when the table has no key). */
export function keyOf(rel: RelationState, t: TupleData): Row {
  const key: Row = {};
  for (const i of rel.keyIndexes) {
    const c = rel.columns[i];
    const v = t[i];
    if (c === undefined) continue;
    key[c.name] = v === null || v === undefined || v === UNCHANGED ? null : c.parse(v);
  }
  return key;
}

/**
 * Snapshot rows as change events (`op: 'snapshot'`), and the key strings that match a snapshot
 * row with changes of the same row.
 *
 * Positions (see docs/sources/postgres-snapshot.md): rows read inside the slot's exported
 * snapshot sit just below the slot's consistent point C, at `formatPosition(C - 1, n)` with a
 * counter n, so they sort before every change the slot streams (those commit at or after C).
 * Rows read between watermarks sit at the high watermark's LSN H, `formatPosition(H, i)`, after
 * every change that committed before H and before every change that commits after it.
 */
import { changeHeadJson, changeJson, type ChangeEvent } from '../../../core/change-event.ts';
import type { TableSchema } from '../../../core/schema.ts';
import { encodeValue, valueToJson, type Row, type Timestamp } from '../../../core/values.ts';

/** Builds snapshot events of one table at one schema version. */
export class SnapshotRowBuilder {
  readonly #source: string;
  readonly #database: string;
  readonly #schema: TableSchema;
  readonly #key: readonly string[];
  readonly #commitTime: Timestamp;
  readonly #keyOf: (row: Row) => Row;
  /**
   * Encoded mode: the envelope's fixed parts as JSON text, around the position, the key and the
   * row: what `changeJson` writes for a snapshot row (no txId, no before, no unchanged), with its
   * constant pieces joined once instead of concatenated per row.
   */
  readonly #beforePosition: string;
  readonly #beforeKey: string;
  readonly #beforeRow: string;
  readonly #end: string;
  readonly #keyPrefix: string;

  constructor(source: string, database: string, schema: TableSchema, commitTime: Timestamp) {
    this.#source = source;
    this.#database = database;
    this.#schema = schema;
    this.#key = schema.primaryKey;
    this.#commitTime = commitTime;
    this.#keyOf = keyBuilder(schema.primaryKey);
    // A sample envelope cut at the position, key and row gives the constant pieces; envelopeJson
    // checks nothing per row, encoded.test.ts checks it against encodeEnvelope.
    const head = changeHeadJson('snapshot', { kind: 'postgres', name: source, database, schema: schema.schema, table: schema.table });
    const sample = changeJson(head, '\u0001', undefined, valueToJson(commitTime), '\u0002', 'null', '\u0003', schema.version);
    const [a, b, c, d] = sample.split(/"\\u0001"|\u0002|\u0003/) as [string, string, string, string];
    this.#beforePosition = a + '"';
    this.#beforeKey = '"' + b;
    this.#beforeRow = c;
    this.#end = d;
    this.#keyPrefix = schema.schema + '.' + schema.table + ':';
  }

  /**
   * Encoded mode: the envelope JSON of the row whose row and key JSON are given, exactly
   * `envelopeToJson(this.event(row, position))` (test/sources/postgres/snapshot/encoded.test.ts).
   */
  envelopeJson(rowJson: string, keyJson: string, position: string): string {
    // Positions are hex digits and '/': nothing to escape.
    return this.#beforePosition + position + this.#beforeKey + keyJson + this.#beforeRow + rowJson + this.#end;
  }

  /** Encoded mode: the partition key of the row whose key JSON is given (`partitionKeyOf(event)`). */
  partitionKey(keyJson: string): string {
    return this.#keyPrefix + keyJson;
  }

  get schema(): TableSchema {
    return this.#schema;
  }

  /** The event of one row at `position`. */
  event(row: Row, position: string): ChangeEvent {
    const key = this.#keyOf(row);
    return {
      op: 'snapshot',
      source: { kind: 'postgres', name: this.#source, database: this.#database, schema: this.#schema.schema, table: this.#schema.table, position, commitTime: this.#commitTime },
      key,
      before: null,
      after: row,
      schemaVersion: this.#schema.version,
    };
  }

  /** Key string of a row (same as {@link keyString} of an event's key). */
  rowKey(row: Row): string {
    const key: Row = {};
    for (const k of this.#key) key[k] = row[k] ?? null;
    return keyString(key);
  }
}

/** A key's identity: its lossless JSON, columns in key order. */
export function keyString(key: Row): string {
  return JSON.stringify(encodeValue(key));
}

/**
 * `row => ({ k1: row.k1 ?? null, ... })` for the key columns, generated once per table: one
 * object literal per row instead of a loop of computed-name stores (see copy-binary.ts for why
 * that matters at a million rows). Same keys in the same order, so the same key object.
 */
function keyBuilder(key: readonly string[]): (row: Row) => Row {
  if (key.includes('__proto__') || key.length > 100) {
    return (row) => {
      const k: Row = {};
      for (const c of key) k[c] = row[c] ?? null;
      return k;
    };
  }
  const fields = key.map((c) => `${JSON.stringify(c)}: row[${JSON.stringify(c)}] ?? null`).join(', ');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('row', `return { ${fields} };`) as (row: Row) => Row;
}

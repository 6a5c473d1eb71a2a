/**
 * `flatten`: turns nested documents (object values, JSON columns, DynamoDB-typed JSON) into
 * single-level records: `{ address: { city: "X" } }` becomes `{ address_city: "X" }`. Beyond
 * `max_depth` the rest is kept as JSON text, so nothing is lost. Applies to key, before and
 * after rows and to a log event's object data.
 */
import { z } from 'zod';
import type { Envelope } from '../../core/change-event.ts';
import type { ComponentDescriptor } from '../../core/component.ts';
import { HydrantError } from '../../core/errors.ts';
import { JsonText, encodeValue, type Row, type Value } from '../../core/values.ts';
import { compileGlobs, compileTablePatterns, tableRefOf, type TableRef } from '../common/patterns.ts';
import { isPlainObject, mapChangeRows } from '../common/rows.ts';
import type { FailedItem, Transform, TransformItem, TransformResult } from '../transform.ts';
import { isAttributeValue, isItem, unmarshallItem, unmarshallValue } from './dynamodb.ts';

export const flattenConfig = z
  .strictObject({
    tables: z.array(z.string().min(1)).min(1).default(['*']).describe('Table patterns to flatten (log events match by source name)'),
    columns: z.array(z.string().min(1)).min(1).default(['*']).describe('Column patterns whose values are flattened'),
    separator: z.string().default('_').describe('Joins nested names: `address` + `city` = `address_city`'),
    max_depth: z.number().int().min(1).default(8).describe('Levels expanded; deeper documents are kept as JSON text'),
    dynamodb: z.enum(['auto', 'always', 'never']).default('auto').describe('DynamoDB-typed JSON: `auto` converts well-formed attribute values (`{"S": ...}`, `{"N": ...}`, ...), `always` requires them (malformed records fail), `never` leaves them alone'),
    arrays: z.enum(['keep', 'json', 'index']).default('keep').describe('Lists: `keep` as a list value, `json` as JSON text, `index` as `name_0`, `name_1`, ...'),
    parse_json: z.boolean().default(true).describe('Parse JSON-typed columns (JSON text) and flatten them too'),
  })
  .describe('Flatten nested and DynamoDB-typed JSON into single-level records');
export type FlattenConfig = z.output<typeof flattenConfig>;

/** A record's DynamoDB JSON or nested document could not be converted. */
export class FlattenError extends HydrantError {
  constructor(message: string) {
    super('FLATTEN_FAILED', message);
  }
}

// JSON.parse would round integers beyond 2^53: such documents are left as JSON text.
const BIG_NUMBER_RE = /(?<![\w.])-?\d{16,}/;

/** Flattens rows. */
export class FlattenTransform implements Transform {
  /** The output columns depend on the values (see `Transform.columnsFromValues`). */
  readonly columnsFromValues = true;
  readonly #c: FlattenConfig;
  readonly #tables: (t: TableRef) => boolean;
  readonly #columns: (c: string) => boolean;

  constructor(config: FlattenConfig) {
    this.#c = config;
    this.#tables = compileTablePatterns(config.tables);
    this.#columns = compileGlobs(config.columns);
  }

  async apply(items: readonly TransformItem[]): Promise<TransformResult> {
    const out: TransformItem[] = [];
    const failed: FailedItem[] = [];
    for (const it of items) {
      try {
        out.push({ ...it, envelope: this.flattenEnvelope(it.envelope) });
      } catch (err) {
        if (!(err instanceof HydrantError)) throw err;
        failed.push({ item: it, reason: `flatten: ${err.message}`, attempts: 1 });
      }
    }
    return { items: out, failed };
  }

  /** Flattens one envelope; throws {@link FlattenError} (or a CodecError) on malformed DynamoDB JSON. */
  flattenEnvelope(e: Envelope): Envelope {
    if (!this.#tables(tableRefOf(e))) return e;
    if (e.op === 'event') {
      let data = e.data;
      if (this.#c.dynamodb !== 'never' && isItem(data)) data = unmarshallItem(data as Record<string, unknown>);
      else if (this.#c.dynamodb === 'always') throw new FlattenError(`log event data from ${e.source.name} at ${e.source.position} is not a DynamoDB item`);
      return isPlainObject(data) ? { ...e, data: this.flattenRow(data as Row) } : { ...e, data };
    }
    return mapChangeRows(e, (row) => this.flattenRow(row));
  }

  /** Flattens one row. */
  flattenRow(row: Row): Row {
    const out: Row = {};
    for (const c in row) {
      const v = row[c] as Value;
      if (!this.#columns(c)) out[c] = v;
      else this.#put(out, c, this.#decode(v, c, true), 1);
    }
    return out;
  }

  #decode(v: Value, path: string, top: boolean): Value {
    const mode = this.#c.dynamodb;
    if (v instanceof JsonText && this.#c.parse_json && !BIG_NUMBER_RE.test(v.text)) {
      try {
        v = JSON.parse(v.text) as Value;
      } catch {
        return v;
      }
    }
    if (mode === 'never') return v;
    if (isAttributeValue(v)) return unmarshallValue(v, path);
    if (isPlainObject(v) && Object.keys(v).length > 0 && isItem(v)) return unmarshallItem(v as Record<string, unknown>, path);
    if (mode === 'always' && top && v !== null) throw new FlattenError(`column ${path} is not DynamoDB-typed JSON (expected e.g. {"S": "text"} or {"N": "1"})`);
    return v;
  }

  #put(out: Row, name: string, v: Value, depth: number): void {
    if (isPlainObject(v)) {
      if (depth > this.#c.max_depth) {
        out[name] = toJsonText(v);
        return;
      }
      let any = false;
      for (const k in v) {
        any = true;
        const n = name + this.#c.separator + k;
        this.#put(out, n, this.#decode(v[k] as Value, n, false), depth + 1);
      }
      if (!any) out[name] = null;
      return;
    }
    if (Array.isArray(v)) {
      if (this.#c.arrays === 'json') out[name] = toJsonText(v);
      else if (this.#c.arrays === 'index' && depth <= this.#c.max_depth) v.forEach((x: Value, i: number) => this.#put(out, name + this.#c.separator + i, x, depth + 1));
      else if (this.#c.arrays === 'index') out[name] = toJsonText(v);
      else out[name] = v;
      return;
    }
    out[name] = v;
  }

  async close(): Promise<void> {}
}

/** Plain JSON text of a value (typed values as their text forms; the lossless tags are not used here, readers expect plain JSON). */
function toJsonText(v: Value): JsonText {
  return new JsonText(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? encodeValue(x) : x)));
}

/** `type: flatten`. */
export const flatten: ComponentDescriptor<typeof flattenConfig, Transform> = {
  kind: 'flatten',
  summary: 'Flatten nested JSON and DynamoDB-typed JSON (S, N, B, BOOL, NULL, M, L, SS, NS, BS) into single-level records',
  config: flattenConfig,
  create: (config) => new FlattenTransform(config),
};

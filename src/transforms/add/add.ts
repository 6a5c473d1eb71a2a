/**
 * `add`: add columns computed from the record's metadata (DMS `add-column` with header
 * expressions such as `$AR_H_OPERATION`, Firehose's arrival time) or constants. Columns are
 * added to the `after` and `before` rows (never to the key).
 */
import { z } from 'zod';
import type { ChangeEvent, Envelope } from '../../core/change-event.ts';
import type { ComponentDescriptor } from '../../core/component.ts';
import type { ColumnSchema, ColumnType, TableSchema } from '../../core/schema.ts';
import { Timestamp, type Row, type Value } from '../../core/values.ts';
import { compileTablePatterns, type TableRef, tableRefOf } from '../common/patterns.ts';
import { isPlainObject } from '../common/rows.ts';
import type { Transform, TransformItem, TransformResult } from '../transform.ts';

const EXPRESSIONS = ['record_type', 'op_code', 'ingestion_time', 'commit_time', 'source_name', 'source_kind', 'database_name', 'schema_name', 'table_name', 'position', 'transaction_id', 'constant'] as const;
type Expression = (typeof EXPRESSIONS)[number];

export const addConfig = z
  .strictObject({
    columns: z
      .array(
        z.strictObject({
          tables: z.array(z.string().min(1)).min(1).default(['*']).describe('Table patterns the column is added to'),
          name: z.string().min(1).describe('Name of the new column (an existing column of that name is overwritten)'),
          value: z
            .enum(EXPRESSIONS)
            .describe('`record_type`: insert/update/delete/snapshot/truncate/event; `op_code`: DMS-style I/U/D (snapshot I, truncate T); `ingestion_time`: arrival time; `commit_time`; `source_name`, `source_kind`, `database_name`, `schema_name`, `table_name`, `position`, `transaction_id`; `constant`: the `constant` field'),
          constant: z.union([z.string(), z.number(), z.boolean(), z.null()]).default(null).describe('Value for `value: constant`'),
        }),
      )
      .min(1)
      .describe('Columns to add, in order'),
  })
  .describe('Add columns from record metadata or constants');
export type AddConfig = z.output<typeof addConfig>;

const OP_CODES: Record<string, string> = { insert: 'I', snapshot: 'I', update: 'U', delete: 'D', truncate: 'T', event: 'I' };

function evaluate(expr: Expression, constant: Value, e: Envelope, arrivalTime: number): Value {
  const change: ChangeEvent | null = e.op === 'event' ? null : e;
  switch (expr) {
    case 'record_type':
      return e.op;
    case 'op_code':
      return OP_CODES[e.op] ?? null;
    case 'ingestion_time':
      return Timestamp.fromMillis(arrivalTime);
    case 'commit_time':
      return change?.source.commitTime ?? (e.op === 'event' ? e.eventTime : null);
    case 'source_name':
      return e.source.name;
    case 'source_kind':
      return e.source.kind;
    case 'database_name':
      return change?.source.database ?? null;
    case 'schema_name':
      return change?.source.schema ?? null;
    case 'table_name':
      return change?.source.table ?? null;
    case 'position':
      return e.source.position;
    case 'transaction_id':
      return change?.source.txId ?? null;
    case 'constant':
      return constant;
  }
}

function typeOf(expr: Expression, constant: Value): ColumnType {
  if (expr === 'ingestion_time' || expr === 'commit_time') return { kind: 'timestamptz' };
  if (expr !== 'constant') return { kind: 'string' };
  // Numbers are doubles in Hydrant's value model.
  return typeof constant === 'number' ? { kind: 'float64' } : typeof constant === 'boolean' ? { kind: 'boolean' } : { kind: 'string' };
}

/** Adds computed columns. */
export class AddTransform implements Transform {
  readonly #columns: ReadonlyArray<{ tables: (t: TableRef) => boolean; name: string; value: Expression; constant: Value }>;

  constructor(config: AddConfig) {
    this.#columns = config.columns.map((c) => ({ tables: compileTablePatterns(c.tables), name: c.name, value: c.value, constant: c.constant }));
  }

  async apply(items: readonly TransformItem[]): Promise<TransformResult> {
    return { items: items.map((it) => ({ ...it, envelope: this.#add(it.envelope, it.arrivalTime) })), failed: [] };
  }

  mapSchema(schema: TableSchema): TableSchema {
    const cols = this.#columns.filter((c) => c.tables(schema));
    if (cols.length === 0) return schema;
    const out: ColumnSchema[] = [...schema.columns];
    for (const c of cols) {
      const col: ColumnSchema = { name: c.name, type: typeOf(c.value, c.constant), nullable: c.value === 'transaction_id' || c.value === 'commit_time' || (c.value === 'constant' && c.constant === null) };
      const i = out.findIndex((x) => x.name === c.name);
      if (i >= 0) out[i] = col;
      else out.push(col);
    }
    return { ...schema, columns: out };
  }

  #add(e: Envelope, arrivalTime: number): Envelope {
    const ref = tableRefOf(e);
    const cols = this.#columns.filter((c) => c.tables(ref));
    if (cols.length === 0) return e;
    const extend = (row: Row): Row => {
      const out: Row = { ...row };
      for (const c of cols) out[c.name] = evaluate(c.value, c.constant, e, arrivalTime);
      return out;
    };
    if (e.op === 'event') return isPlainObject(e.data) ? { ...e, data: extend(e.data as Row) } : e;
    if (e.op === 'truncate') return e;
    return { ...e, before: e.before === null ? null : extend(e.before), after: e.after === null ? null : extend(e.after) };
  }

  async close(): Promise<void> {}
}

/** `type: add`. */
export const add: ComponentDescriptor<typeof addConfig, Transform> = {
  kind: 'add',
  summary: 'Add columns from record metadata (record type, ingestion time, source name, ...) or constants',
  config: addConfig,
  create: (config) => new AddTransform(config),
};

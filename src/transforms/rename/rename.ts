/**
 * `rename`: rename tables (and their schema) and columns (DMS table-mapping "rename"
 * transformation rules). Column renames apply to key, before, after and `unchanged`, so a
 * row's identity follows the new name.
 */
import { z } from 'zod';
import type { ChangeEvent } from '../../core/change-event.ts';
import type { ComponentDescriptor } from '../../core/component.ts';
import type { TableSchema } from '../../core/schema.ts';
import type { Row } from '../../core/values.ts';
import { compileGlob, compileTablePatterns, tableKey, tableRefOf, type TableRef } from '../common/patterns.ts';
import { isPlainObject, mapChangeRows } from '../common/rows.ts';
import type { Transform, TransformItem, TransformResult } from '../transform.ts';

export const renameConfig = z
  .strictObject({
    tables: z
      .array(
        z.strictObject({
          from: z.string().min(1).describe('Table pattern (`table`, `schema.table` or `source.schema.table`)'),
          to: z.string().min(1).describe('New table name'),
          schema: z.string().min(1).optional().describe('New schema name (kept when absent)'),
        }),
      )
      .default([])
      .describe('Table renames; the first matching entry applies'),
    columns: z
      .array(
        z.strictObject({
          tables: z.array(z.string().min(1)).min(1).default(['*']).describe('Table patterns the rename applies to (matched before any table rename)'),
          from: z.string().min(1).describe('Column name (case-insensitive)'),
          to: z.string().min(1).describe('New column name'),
        }),
      )
      .default([])
      .describe('Column renames'),
  })
  .describe('Rename tables and columns');
export type RenameConfig = z.output<typeof renameConfig>;

interface Plan {
  readonly table: { readonly schema: string; readonly table: string } | null;
  readonly columns: ReadonlyArray<{ readonly from: (c: string) => boolean; readonly to: string }>;
}

/** Renames tables and columns. */
export class RenameTransform implements Transform {
  readonly #config: RenameConfig;
  readonly #tableMatchers: ReadonlyArray<(t: TableRef) => boolean>;
  readonly #columnMatchers: ReadonlyArray<(t: TableRef) => boolean>;
  readonly #plans = new Map<string, Plan>();

  constructor(config: RenameConfig) {
    this.#config = config;
    this.#tableMatchers = config.tables.map((t) => compileTablePatterns([t.from]));
    this.#columnMatchers = config.columns.map((c) => compileTablePatterns(c.tables));
  }

  async apply(items: readonly TransformItem[]): Promise<TransformResult> {
    return { items: items.map((it) => ({ ...it, envelope: this.#rename(it.envelope) })), failed: [] };
  }

  #plan(ref: TableRef): Plan {
    const k = tableKey(ref);
    let p = this.#plans.get(k);
    if (p !== undefined) return p;
    const ti = this.#tableMatchers.findIndex((m) => m(ref));
    const t = ti < 0 ? undefined : this.#config.tables[ti];
    p = {
      table: t === undefined ? null : { schema: t.schema ?? ref.schema, table: t.to },
      columns: this.#config.columns.filter((_c, i) => this.#columnMatchers[i]?.(ref)).map((c) => ({ from: compileGlob(c.from), to: c.to })),
    };
    this.#plans.set(k, p);
    return p;
  }

  mapSchema(schema: TableSchema): TableSchema {
    const p = this.#plan(schema);
    const col = (c: string): string => p.columns.find((r) => r.from(c))?.to ?? c;
    return {
      ...schema,
      ...(p.table === null ? {} : { schema: p.table.schema, table: p.table.table }),
      columns: schema.columns.map((c) => ({ ...c, name: col(c.name) })),
      primaryKey: schema.primaryKey.map(col),
    };
  }

  #rename(e: TransformItem['envelope']): TransformItem['envelope'] {
    const p = this.#plan(tableRefOf(e));
    if (p.table === null && p.columns.length === 0) return e;
    const col = (c: string): string => p.columns.find((r) => r.from(c))?.to ?? c;
    const row = (r: Row): Row => {
      if (p.columns.length === 0) return r;
      const out: Row = {};
      for (const c in r) out[col(c)] = r[c] as Row[string];
      return out;
    };
    if (e.op === 'event') return isPlainObject(e.data) ? { ...e, data: row(e.data as Row) } : e;
    const renamed: ChangeEvent = p.columns.length === 0 ? e : mapChangeRows(e, row, col);
    return p.table === null ? renamed : { ...renamed, source: { ...renamed.source, schema: p.table.schema, table: p.table.table } };
  }

  async close(): Promise<void> {}
}

/** `type: rename`. */
export const rename: ComponentDescriptor<typeof renameConfig, Transform> = {
  kind: 'rename',
  summary: 'Rename tables (and schemas) and columns (DMS-style rename rules)',
  config: renameConfig,
  create: (config) => new RenameTransform(config),
};

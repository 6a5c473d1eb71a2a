/**
 * `select`: keep or drop whole tables and columns (DMS table-mapping "selection" rules).
 * Column rules apply to `before` and `after`; key columns are never removed (from the key row
 * or the row images), since distinct rows must keep distinct keys and the lake's current-state
 * tables need them (anonymize what is personal in a key instead).
 */
import { z } from 'zod';
import type { ComponentDescriptor } from '../../core/component.ts';
import type { TableSchema } from '../../core/schema.ts';
import type { Row } from '../../core/values.ts';
import { compileGlobs, compileTablePatterns, tableKey, tableRefOf, type TableRef } from '../common/patterns.ts';
import { isPlainObject, mapChangeRows } from '../common/rows.ts';
import type { Transform, TransformItem, TransformResult } from '../transform.ts';

const columnRule = z.strictObject({
  tables: z.array(z.string().min(1)).min(1).default(['*']).describe('Table patterns the rule applies to (`table`, `schema.table` or `source.schema.table`)'),
  include: z.array(z.string().min(1)).default(['*']).describe('Column patterns to keep'),
  exclude: z.array(z.string().min(1)).default([]).describe('Column patterns to remove (wins over include)'),
});

export const selectConfig = z
  .strictObject({
    include: z.array(z.string().min(1)).default(['*']).describe('Table patterns to keep; log events match by source name'),
    exclude: z.array(z.string().min(1)).default([]).describe('Table patterns to drop (wins over include)'),
    columns: z.array(columnRule).default([]).describe('Column selections; for each table the first matching rule applies'),
  })
  .describe('Keep or drop tables and columns');
export type SelectConfig = z.output<typeof selectConfig>;

/** Filters tables and columns. */
export class SelectTransform implements Transform {
  readonly #include: (t: TableRef) => boolean;
  readonly #exclude: (t: TableRef) => boolean;
  readonly #columnRules: ReadonlyArray<{ tables: (t: TableRef) => boolean; keep: (c: string) => boolean }>;
  readonly #plans = new Map<string, { keepTable: boolean; keep: ((c: string) => boolean) | null }>();

  constructor(config: SelectConfig) {
    this.#include = compileTablePatterns(config.include);
    this.#exclude = compileTablePatterns(config.exclude);
    this.#columnRules = config.columns.map((r) => {
      const inc = compileGlobs(r.include);
      const exc = compileGlobs(r.exclude);
      return { tables: compileTablePatterns(r.tables), keep: (c: string) => inc(c) && !exc(c) };
    });
  }

  #plan(ref: TableRef): { keepTable: boolean; keep: ((c: string) => boolean) | null } {
    const k = tableKey(ref);
    let plan = this.#plans.get(k);
    if (plan === undefined) {
      plan = { keepTable: this.#include(ref) && !this.#exclude(ref), keep: this.#columnRules.find((r) => r.tables(ref))?.keep ?? null };
      this.#plans.set(k, plan);
    }
    return plan;
  }

  mapSchema(schema: TableSchema): TableSchema | null {
    const plan = this.#plan(schema);
    if (!plan.keepTable) return null;
    const keep = plan.keep;
    if (keep === null) return schema;
    return { ...schema, columns: schema.columns.filter((c) => keep(c.name) || schema.primaryKey.includes(c.name)) };
  }

  async apply(items: readonly TransformItem[]): Promise<TransformResult> {
    const out: TransformItem[] = [];
    for (const it of items) {
      const e = it.envelope;
      const plan = this.#plan(tableRefOf(e));
      if (!plan.keepTable) continue;
      const keep = plan.keep;
      if (keep === null) {
        out.push(it);
      } else if (e.op === 'event') {
        out.push(isPlainObject(e.data) ? { ...it, envelope: { ...e, data: pick(e.data as Row, keep) } } : it);
      } else {
        const keepOrKey = (c: string): boolean => keep(c) || Object.hasOwn(e.key, c);
        out.push({ ...it, envelope: mapChangeRows(e, (row, role) => (role === 'key' ? row : pick(row, keepOrKey)), (c) => (keepOrKey(c) ? c : null)) });
      }
    }
    return { items: out, failed: [] };
  }

  async close(): Promise<void> {}
}

function pick(row: Row, keep: (c: string) => boolean): Row {
  const out: Row = {};
  for (const c in row) if (keep(c)) out[c] = row[c] as Row[string];
  return out;
}

/** `type: select`. */
export const select: ComponentDescriptor<typeof selectConfig, Transform> = {
  kind: 'select',
  summary: 'Keep or drop tables and columns by pattern (DMS-style selection rules)',
  config: selectConfig,
  create: (config) => new SelectTransform(config),
};

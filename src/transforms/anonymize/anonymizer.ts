/**
 * The `anonymize` transform: applies the first matching rule to every column of the key,
 * before and after rows (and to the top-level fields of a log event's object data). It runs
 * on a source edge, before the partition key is computed and before anything is stored.
 */
import type { Envelope } from '../../core/change-event.ts';
import { HydrantError } from '../../core/errors.ts';
import { latestSchema, type ColumnSchema, type TableSchema } from '../../core/schema.ts';
import type { StateStore } from '../../state/state-store.ts';
import type { Row, Value } from '../../core/values.ts';
import { compileGlobs, compileTablePatterns, tableKey, tableRefOf, type TableRef } from '../common/patterns.ts';
import { isPlainObject, mapChangeRows } from '../common/rows.ts';
import type { Transform, TransformItem, TransformResult } from '../transform.ts';
import { buildAction, DROP, type ActionContext, type ValueAction } from './actions.ts';
import { COLLAPSING_ACTIONS, collapseMessage, type AnonymizeConfig, type AnonymizeRule } from './config.ts';
import { anonymizedColumn } from './schema-types.ts';

/** Pseudo-column name that selects a log event's partition key in rules. */
export const EVENT_KEY_COLUMN = '_key';

/** A rule would collapse distinct keys of a table (found at runtime against the real key). */
export class AnonymizeKeyError extends HydrantError {
  constructor(message: string, details: Record<string, unknown>) {
    super('ANONYMIZE_KEY_COLLAPSE', message, { details });
  }
}

interface CompiledRule {
  readonly rule: AnonymizeRule;
  readonly index: number;
  readonly tables: (t: TableRef) => boolean;
  readonly columns: (c: string) => boolean;
  readonly apply: ValueAction;
}

interface ColumnPlan {
  readonly rule: CompiledRule;
}

/** Per-table state: the key columns and the decision for each column seen so far. */
interface TablePlan {
  readonly ref: TableRef;
  readonly rules: readonly CompiledRule[];
  readonly keyColumns: Set<string>;
  readonly columns: Map<string, ColumnPlan | null>;
}

/** Applies anonymization rules to batches. */
export class Anonymizer implements Transform {
  readonly #rules: readonly CompiledRule[];
  readonly #tables = new Map<string, TablePlan>();
  readonly #state: StateStore | undefined;

  /**
   * @param config validated config
   * @param key the secret for keyed rules (see `secret.ts`)
   * @param state where table schemas are read from, to learn primary keys before the first key row is seen
   */
  constructor(config: AnonymizeConfig, key: Buffer | undefined, state?: StateStore) {
    this.#rules = config.rules.map((rule, index) => ({
      rule,
      index,
      tables: compileTablePatterns(rule.tables),
      columns: compileGlobs(rule.columns),
      apply: buildAction(rule, key),
    }));
    this.#state = state;
  }

  async apply(items: readonly TransformItem[]): Promise<TransformResult> {
    const out: TransformItem[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) {
      const it = items[i] as TransformItem;
      const plan = this.#tables.get(tableKey(tableRefOf(it.envelope))) ?? (await this.#plan(it.envelope));
      out[i] = { ...it, envelope: this.#anonymize(plan, it.envelope, it.arrivalTime) };
    }
    return { items: out, failed: [] };
  }

  /** Anonymizes one envelope. Throws {@link AnonymizeKeyError} when a rule would collapse its table's keys. */
  async anonymize(e: Envelope, arrivalTime: number): Promise<Envelope> {
    return this.#anonymize(await this.#plan(e), e, arrivalTime);
  }

  #anonymize(plan: TablePlan, e: Envelope, arrivalTime: number): Envelope {
    if (plan.rules.length === 0) return e;
    if (e.op === 'event') {
      const ctx: ActionContext = { referenceMillis: e.eventTime?.toMillis() ?? arrivalTime };
      const data = isPlainObject(e.data) ? this.#row(plan, e.data as Row, ctx) : e.data;
      return { ...e, key: this.#eventKey(plan, e.key, ctx), data };
    }
    const ctx: ActionContext = { referenceMillis: e.source.commitTime.toMillis() };
    for (const c in e.key) this.#noteKey(plan, c);
    return mapChangeRows(e, (row) => this.#row(plan, row, ctx), (c) => (this.#column(plan, c)?.rule.rule.action === 'drop' ? null : c));
  }

  /** The schema of the anonymized rows (dropped columns removed, changed types); throws like `apply` on a collapsing rule on a key column. */
  mapSchema(schema: TableSchema): TableSchema {
    const rules = this.#rules.filter((r) => r.tables(schema));
    if (rules.length === 0) return schema;
    const columns: ColumnSchema[] = [];
    for (const c of schema.columns) {
      const r = rules.find((x) => x.columns(c.name));
      if (r !== undefined && schema.primaryKey.includes(c.name) && COLLAPSING_ACTIONS.has(r.rule.action)) {
        throw new AnonymizeKeyError(`anonymize: rules[${r.index}]: ${collapseMessage(r.rule.action, c.name, `${schema.schema}.${schema.table}`)}`, { rule: r.index, column: c.name, action: r.rule.action });
      }
      const out = r === undefined ? c : anonymizedColumn(r.rule, c);
      if (out !== null) columns.push(out);
    }
    return { ...schema, columns };
  }

  async close(): Promise<void> {}

  async #plan(e: Envelope): Promise<TablePlan> {
    const ref = tableRefOf(e);
    const k = tableKey(ref);
    const known = this.#tables.get(k);
    if (known !== undefined) return known;
    const plan: TablePlan = { ref, rules: this.#rules.filter((r) => r.tables(ref)), keyColumns: new Set(), columns: new Map() };
    if (e.op !== 'event' && this.#state !== undefined && plan.rules.length > 0) {
      const schema = await latestSchema(this.#state, ref);
      for (const c of schema?.primaryKey ?? []) this.#noteKey(plan, c);
    }
    // Another call may have planned the table while the schema was loading.
    const again = this.#tables.get(k);
    if (again !== undefined) return again;
    this.#tables.set(k, plan);
    return plan;
  }

  #noteKey(plan: TablePlan, column: string): void {
    if (plan.keyColumns.has(column)) return;
    plan.keyColumns.add(column);
    const cp = plan.columns.get(column);
    if (cp !== undefined && cp !== null) this.#checkKey(plan, column, cp);
    else if (cp === undefined) this.#column(plan, column);
  }

  #column(plan: TablePlan, column: string): ColumnPlan | null {
    let cp = plan.columns.get(column);
    if (cp !== undefined) return cp;
    const rule = plan.rules.find((r) => r.columns(column));
    cp = rule === undefined ? null : { rule };
    plan.columns.set(column, cp);
    if (cp !== null && plan.keyColumns.has(column)) this.#checkKey(plan, column, cp);
    return cp;
  }

  #checkKey(plan: TablePlan, column: string, cp: ColumnPlan): void {
    const action = cp.rule.rule.action;
    if (!COLLAPSING_ACTIONS.has(action)) return;
    const table = `${plan.ref.schema}.${plan.ref.table}`;
    throw new AnonymizeKeyError(`anonymize: rules[${cp.rule.index}]: ${collapseMessage(action, column, table)}`, { rule: cp.rule.index, column, table, action });
  }

  /**
   * A log event's partition key (often a user id or email) is anonymized by the rule for the
   * pseudo-column `_key`; it stays a string (or null), since it is hashed to a shard.
   */
  #eventKey(plan: TablePlan, key: string | null, ctx: ActionContext): string | null {
    if (key === null) return null;
    const cp = this.#column(plan, EVENT_KEY_COLUMN);
    if (cp === null) return key;
    const v = cp.rule.apply(key, ctx);
    return v === DROP || v === null ? null : typeof v === 'string' ? v : String(v);
  }

  #row(plan: TablePlan, row: Row, ctx: ActionContext): Row {
    let out: Row | undefined;
    for (const c in row) {
      const cp = this.#column(plan, c);
      if (cp === null) continue;
      out ??= { ...row };
      const v = cp.rule.apply(row[c] as Value, ctx);
      if (v === DROP) delete out[c];
      else out[c] = v;
    }
    return out ?? row;
  }
}

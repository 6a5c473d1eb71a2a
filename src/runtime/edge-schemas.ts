/**
 * Table schemas of a source edge: the schema recorded in the state store must describe what
 * the stream holds, which is the source's schema mapped through the edge's transforms
 * (renamed tables and columns, dropped, added and retyped columns), not the source's own.
 * The lake writes exactly the columns of the recorded schema, so a schema that missed a
 * column the transforms added would make the lake drop it silently.
 *
 * An edge holding a transform whose output columns depend on the values (`flatten`,
 * `function`: `Transform.columnsFromValues`) records no schemas at all: such tables are
 * schemaless and the lake infers column types from the values of each object.
 *
 * As a guard, every change is checked before it is appended: a row column that the recorded
 * schema of its table and version lacks stops the pipeline (nothing stored) instead of being
 * dropped by the lake later.
 */
import type { ChangeEvent, Envelope } from '../core/change-event.ts';
import { HydrantError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { loadSchema, schemaKey, type TableSchema } from '../core/schema.ts';
import type { StateOp, StateStore, StateValue } from '../state/state-store.ts';
import { mapSchemaThrough } from '../transforms/schema-map.ts';
import { sourceSchemaKey } from './state-keys.ts';
import type { NamedTransform } from './transform-chain.ts';

/** A change holds a column its recorded table schema lacks: storing it would lose data. */
export class SchemaMismatchError extends HydrantError {
  constructor(message: string, details: Record<string, unknown>) {
    super('SCHEMA_MISMATCH', message, { details });
  }
}

/** Records the mapped schemas of one source edge and checks changes against them. */
export class EdgeSchemas {
  readonly #source: string;
  readonly #chain: readonly NamedTransform[];
  readonly #state: StateStore;
  readonly #logger: Logger;
  /** Source schema keys already handled. */
  readonly #seen = new Set<string>();
  /** Column names of the recorded schema per output schema key; null when none is recorded. */
  readonly #columns = new Map<string, ReadonlySet<string> | null>();
  /** true when no schema can be recorded for this edge (see the module comment). */
  readonly schemaless: boolean;

  constructor(source: string, chain: readonly NamedTransform[], state: StateStore, logger: Logger) {
    this.#source = source;
    this.#chain = chain;
    this.#state = state;
    this.#logger = logger;
    this.schemaless = chain.some((t) => t.transform.columnsFromValues === true);
  }

  /**
   * Records the mapped form of each source schema not recorded yet. Throws what a transform's
   * `mapSchema` throws (e.g. anonymize refusing a rule that collapses keys), before anything
   * is stored.
   */
  async record(schemas: readonly TableSchema[] | undefined): Promise<void> {
    if (schemas === undefined || schemas.length === 0) return;
    const ops: StateOp[] = [];
    for (const s of schemas) {
      const sourceKey = schemaKey(s, s.version);
      if (this.#seen.has(sourceKey)) continue;
      this.#seen.add(sourceKey);
      // The source's own schema, for its version history (source-state-view.ts).
      const own = sourceSchemaKey(sourceKey);
      if ((await this.#state.get(own)) === undefined) ops.push({ type: 'put', key: own, value: s as unknown as StateValue });
      if (this.schemaless) {
        this.#logger.info('table schema not recorded: a transform on the source edge makes columns from values, so the lake infers column types from them', { source: this.#source, table: sourceKey, transforms: this.#chain.filter((t) => t.transform.columnsFromValues === true).map((t) => t.name) });
        continue;
      }
      const mapped = mapSchemaThrough(this.#chain.map((t) => t.transform), s);
      if (mapped === null) continue;
      const key = schemaKey(mapped, mapped.version);
      if (ops.some((o) => o.key === key)) continue;
      // Two source tables renamed to one name would share schema keys; the first one wins and the
      // check below stops a change whose columns that schema lacks.
      const stored = (await this.#state.get(key)) as TableSchema | undefined;
      if (stored === undefined) ops.push({ type: 'put', key, value: mapped as unknown as StateValue });
      this.#columns.set(key, new Set((stored ?? mapped).columns.map((c) => c.name)));
    }
    if (ops.length > 0) {
      await this.#state.commit(ops);
      this.#logger.info('recorded table schemas', { source: this.#source, schemas: ops.map((o) => o.key).filter((k) => k.startsWith('schemas/')) });
    }
  }

  /** Throws {@link SchemaMismatchError} when a change holds a column its recorded schema lacks. */
  async check(events: readonly Envelope[]): Promise<void> {
    // Tables interleave within a batch (orders, then their items): look a change's column set
    // up by table name first and compare the rest, instead of building its schema key per change.
    const byTable = new Map<string, { readonly e: ChangeEvent; readonly cols: ReadonlySet<string> | null }>();
    for (const e of events) {
      if (e.op === 'event' || e.op === 'truncate') continue;
      const src = e.source;
      let hit = byTable.get(src.table);
      if (hit === undefined || e.schemaVersion !== hit.e.schemaVersion || src.schema !== hit.e.source.schema || src.name !== hit.e.source.name) {
        hit = { e, cols: await this.#columnsOf(e) };
        byTable.set(src.table, hit);
      }
      const cols = hit.cols;
      if (cols === null) continue;
      if (e.key !== null) this.#checkRow(e, cols, e.key);
      if (e.before !== null) this.#checkRow(e, cols, e.before);
      if (e.after !== null) this.#checkRow(e, cols, e.after);
    }
  }

  async #columnsOf(e: ChangeEvent): Promise<ReadonlySet<string> | null> {
    const t = { source: e.source.name, schema: e.source.schema, table: e.source.table };
    const key = schemaKey(t, e.schemaVersion);
    let cols = this.#columns.get(key);
    if (cols === undefined) {
      const s = await loadSchema(this.#state, t, e.schemaVersion);
      cols = s === undefined ? null : new Set(s.columns.map((c) => c.name));
      this.#columns.set(key, cols);
    }
    return cols;
  }

  #checkRow(e: ChangeEvent, cols: ReadonlySet<string>, row: object): void {
    for (const c in row) {
      if (cols.has(c)) continue;
      const t = { source: e.source.name, schema: e.source.schema, table: e.source.table };
      const key = schemaKey(t, e.schemaVersion);
      const chain = this.#chain.map((x) => x.name).join(', ') || '(none)';
      throw new SchemaMismatchError(
        `source "${this.#source}": a change of ${t.schema}.${t.table} holds column "${c}", which its recorded schema (${key}) lacks, so the lake would drop it. The edge's transforms are: ${chain}. ` +
          'A schema recorded by an earlier run under another transform configuration keeps its columns: start the pipeline with a new data dir (or give the table a new name with `rename`), or, for transforms whose columns depend on the values, report this as a bug.',
        { source: this.#source, schemaKey: key, column: c },
      );
    }
  }
}

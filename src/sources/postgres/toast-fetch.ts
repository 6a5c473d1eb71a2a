/**
 * Optional (`toast: fetch`): fills TOAST-unchanged columns of update events by reading the
 * row's current values from the table, one query per table and batch. The value read is the
 * row as it is *now*, not as of the change: a later update of the same column shows through
 * early, and a row deleted since keeps its `unchanged` marker. Keys must be of a type that is
 * sent as plain text (integers, numeric, text, uuid, boolean); other keys keep the marker.
 */
import type { ChangeEvent } from '../../core/change-event.ts';
import type { Logger } from '../../core/logger.ts';
import { Decimal, type Row, type Value } from '../../core/values.ts';
import type { SqlClient } from './catalog.ts';
import type { Relations } from './relations.ts';
import { quoteIdent } from './replication-connection.ts';

const CHUNK = 500;

/** The text PostgreSQL prints for a key value, or undefined when it is not a plain scalar. */
function keyText(v: Value): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof Decimal) return v.text;
  return undefined;
}

/** Fills unchanged TOAST columns from the table. */
export class ToastFetcher {
  readonly #sql: SqlClient;
  readonly #relations: Relations;
  readonly #logger: Logger;

  constructor(sql: SqlClient, relations: Relations, logger: Logger) {
    this.#sql = sql;
    this.#relations = relations;
    this.#logger = logger;
  }

  /** Replaces, in place, each event with `unchanged` columns by one with the values filled in. */
  async fill(events: ChangeEvent[]): Promise<void> {
    const byTable = new Map<string, number[]>();
    for (let i = 0; i < events.length; i++) {
      const e = events[i] as ChangeEvent;
      if (e.unchanged === undefined || e.op !== 'update' || Object.keys(e.key).length === 0) continue;
      const t = `${e.source.schema}.${e.source.table}`;
      const list = byTable.get(t);
      if (list === undefined) byTable.set(t, [i]);
      else list.push(i);
    }
    for (const idx of byTable.values()) {
      for (let i = 0; i < idx.length; i += CHUNK) await this.#fillTable(events, idx.slice(i, i + CHUNK));
    }
  }

  async #fillTable(events: ChangeEvent[], idx: readonly number[]): Promise<void> {
    const first = events[idx[0] as number] as ChangeEvent;
    const rel = this.#relations.byName(first.source.schema, first.source.table);
    if (rel === undefined) return;
    const keyCols = Object.keys(first.key);
    const wanted = [...new Set(idx.flatMap((i) => (events[i] as ChangeEvent).unchanged ?? []))];
    const params: string[] = [];
    const tuples: string[] = [];
    const usable: number[] = [];
    for (const i of idx) {
      const texts = keyCols.map((k) => keyText((events[i] as ChangeEvent).key[k] ?? null));
      if (texts.some((t) => t === undefined)) continue;
      tuples.push(`(${texts.map((t) => {
        params.push(t as string);
        return `$${params.length}`;
      }).join(', ')})`);
      usable.push(i);
    }
    if (usable.length === 0) return;
    const k = keyCols.map(quoteIdent);
    const cols = [...keyCols.map((c, j) => `${quoteIdent(c)}::text as k${j}`), ...wanted.map((c, j) => `${quoteIdent(c)}::text as v${j}`)];
    const sql = `select ${cols.join(', ')} from ${quoteIdent(first.source.schema)}.${quoteIdent(first.source.table)} where (${k.join(', ')}) in (${tuples.join(', ')})`;
    let rows: Array<Record<string, unknown>>;
    try {
      rows = (await this.#sql.query(sql, params)).rows;
    } catch (err) {
      this.#logger.warn('toast fetch failed: the columns stay marked unchanged', { table: `${first.source.schema}.${first.source.table}`, err });
      return;
    }
    const found = new Map<string, Record<string, unknown>>();
    for (const r of rows) found.set(JSON.stringify(keyCols.map((_c, j) => r[`k${j}`])), r);
    for (const i of usable) {
      const e = events[i] as ChangeEvent;
      const values = found.get(JSON.stringify(keyCols.map((c) => keyText(e.key[c] ?? null))));
      if (values === undefined) continue;
      const after: Row = { ...(e.after ?? {}) };
      const still: string[] = [];
      for (const c of e.unchanged ?? []) {
        const col = rel.columns.find((x) => x.name === c);
        const text = values[`v${wanted.indexOf(c)}`];
        if (col === undefined) still.push(c);
        else after[c] = text === null || text === undefined ? null : col.parse(text as string);
      }
      const { unchanged: _drop, ...rest } = e;
      events[i] = still.length > 0 ? { ...rest, after, unchanged: still } : { ...rest, after };
    }
  }
}

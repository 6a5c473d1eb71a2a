/**
 * Catalog pruning for `hydrant query`: which partition values a query can possibly read.
 *
 * DuckDB parses the SQL (`json_serialize_sql`); when the statement is one SELECT over one lake
 * table that appears nowhere else in the query, the top-level AND-ed conditions of its WHERE
 * clause of the form `col = constant` or `col IN (constants...)` restrict that table's
 * partition columns. Objects whose partition value fails such a condition cannot contribute a
 * row, so they are neither fetched nor read. Anything else (OR, functions, joins, subqueries on
 * the same table) prunes nothing: pruning is only ever an optimization, never a change of the
 * result.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { CatalogObject } from '../catalog/catalog.ts';

/** A test a partition value must pass: false only when the value surely fails the condition. */
export type MayPass = (value: string) => boolean;

/** A test of an object's event-time range (epoch ms, inclusive): false only when no row can pass. */
export type MayOverlap = (minMs: number, maxMs: number) => boolean;

/** Conditions per partition column (lower-case names), for one view name (lower-case, dotted). */
export interface PartitionFilter {
  readonly view: string;
  readonly allowed: ReadonlyMap<string, readonly MayPass[]>;
  /** Conditions on `_commit_time` / `_event_time`, checked against the catalog's time range. */
  readonly time: readonly MayOverlap[];
}

type Node = Record<string, unknown>;

/** The filter a query implies, or undefined when nothing can be pruned safely. */
export async function partitionFilterOf(conn: DuckDBConnection, sql: string): Promise<PartitionFilter | undefined> {
  let ast: { error?: boolean; statements?: Array<{ node: Node }> };
  try {
    const r = await conn.runAndReadAll(`SELECT json_serialize_sql($1::VARCHAR)`, [sql]);
    ast = JSON.parse(String(r.getRows()[0]?.[0])) as typeof ast;
  } catch {
    return undefined;
  }
  if (ast.error === true || ast.statements?.length !== 1) return undefined;
  const node = ast.statements[0]?.node as Node;
  if (node['type'] !== 'SELECT_NODE') return undefined;
  const from = node['from_table'] as Node | undefined;
  if (from?.['type'] !== 'BASE_TABLE' || node['where_clause'] === null || node['where_clause'] === undefined) return undefined;
  const view = tableName(from);
  const counts = new Map<string, number>();
  walk(ast, (n) => {
    if (n['type'] === 'BASE_TABLE') counts.set(tableName(n), (counts.get(tableName(n)) ?? 0) + 1);
  });
  if (counts.get(view) !== 1) return undefined;
  const allowed = new Map<string, MayPass[]>();
  const time: MayOverlap[] = [];
  for (const c of conjuncts(node['where_clause'] as Node)) {
    const t = timeRestriction(c);
    if (t !== undefined) {
      time.push(t);
      continue;
    }
    const r = restriction(c);
    if (r === undefined) continue;
    allowed.set(r.column, [...(allowed.get(r.column) ?? []), r.test]);
  }
  return allowed.size === 0 && time.length === 0 ? undefined : { view, allowed, time };
}

/** Whether an object can hold rows the filter lets through. */
export function mayMatch(o: Pick<CatalogObject, 'partition' | 'minTime' | 'maxTime'>, f: PartitionFilter): boolean {
  if (Number.isFinite(o.minTime) && Number.isFinite(o.maxTime) && !f.time.every((t) => t(o.minTime, o.maxTime))) return false;
  for (const [k, v] of Object.entries(o.partition)) {
    const tests = f.allowed.get(k.toLowerCase());
    if (tests !== undefined && !tests.every((t) => t(v))) return false;
  }
  return true;
}

/**
 * Whether a partition value may equal a constant. Conservative: numeric-looking values that
 * are numerically equal count as equal (DuckDB may have cast the hive column to a number), so
 * an object is only ever dropped when it surely cannot match.
 */
function same(a: string | number, b: string | number): boolean {
  if (a === b) return true;
  const x = Number(a);
  const y = Number(b);
  return String(a).trim() !== '' && String(b).trim() !== '' && Number.isFinite(x) && Number.isFinite(y) && x === y;
}

function tableName(n: Node): string {
  return [n['catalog_name'], n['schema_name'], n['table_name']].filter((p) => typeof p === 'string' && p !== '').join('.').toLowerCase();
}

function walk(v: unknown, f: (n: Node) => void): void {
  if (Array.isArray(v)) for (const x of v) walk(x, f);
  else if (v !== null && typeof v === 'object') {
    f(v as Node);
    for (const x of Object.values(v)) walk(x, f);
  }
}

function conjuncts(n: Node): Node[] {
  if (n['type'] === 'CONJUNCTION_AND') return (n['children'] as Node[]).flatMap(conjuncts);
  return [n];
}

function constant(n: Node | undefined): string | number | undefined {
  if (n?.['class'] !== 'CONSTANT') return undefined;
  const v = n['value'] as { is_null?: boolean; value?: unknown; type?: { id?: string } } | undefined;
  if (v === undefined || v.is_null === true) return undefined;
  const id = v.type?.id ?? '';
  if (id === 'VARCHAR' && typeof v.value === 'string') return v.value;
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|HUGEINT)$/.test(id) && (typeof v.value === 'number' || typeof v.value === 'string')) return Number(v.value);
  return undefined;
}

function column(n: Node | undefined): string | undefined {
  if (n?.['class'] !== 'COLUMN_REF') return undefined;
  const names = n['column_names'] as string[];
  return names[names.length - 1]?.toLowerCase();
}

type Cmp = '<' | '<=' | '>' | '>=';
const CMP: Record<string, Cmp> = { COMPARE_LESSTHAN: '<', COMPARE_LESSTHANOREQUALTO: '<=', COMPARE_GREATERTHAN: '>', COMPARE_GREATERTHANOREQUALTO: '>=' };
const FLIP: Record<Cmp, Cmp> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

function holds(a: number | string, op: Cmp, b: number | string): boolean {
  return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
}

/**
 * Whether `value op c` may hold. DuckDB compares as text or, when the hive column was cast to a
 * number or the constant is a number, as numbers: the value may pass when either reading lets it.
 */
function mayCompare(value: string, op: Cmp, c: string | number): boolean {
  if (holds(value, op, String(c))) return true;
  const x = Number(value);
  const y = Number(c);
  return value.trim() === '' || String(c).trim() === '' || !Number.isFinite(x) || !Number.isFinite(y) || holds(x, op, y);
}

function restriction(n: Node): { column: string; test: MayPass } | undefined {
  const cmp = CMP[String(n['type'])];
  if (cmp !== undefined) {
    const l = n['left'] as Node;
    const r = n['right'] as Node;
    const lc = column(l);
    const rc = constant(r);
    if (lc !== undefined && rc !== undefined) return { column: lc, test: (v) => mayCompare(v, cmp, rc) };
    const rcol = column(r);
    const lconst = constant(l);
    if (rcol !== undefined && lconst !== undefined) return { column: rcol, test: (v) => mayCompare(v, FLIP[cmp], lconst) };
    return undefined;
  }
  if (n['type'] === 'COMPARE_BETWEEN') {
    const col = column(n['input'] as Node);
    const lo = constant(n['lower'] as Node);
    const hi = constant(n['upper'] as Node);
    if (col === undefined || lo === undefined || hi === undefined) return undefined;
    return { column: col, test: (v) => mayCompare(v, '>=', lo) && mayCompare(v, '<=', hi) };
  }
  if (n['type'] === 'COMPARE_EQUAL') {
    const l = n['left'] as Node;
    const r = n['right'] as Node;
    const col = column(l) ?? column(r);
    const val = constant(r) ?? constant(l);
    return col === undefined || val === undefined ? undefined : { column: col, test: (v) => same(v, val) };
  }
  if (n['type'] === 'COMPARE_IN') {
    const [first, ...rest] = n['children'] as Node[];
    const col = column(first);
    const vals = rest.map(constant);
    if (col === undefined || vals.some((v) => v === undefined)) return undefined;
    return { column: col, test: (v) => vals.some((x) => same(v, x as string | number)) };
  }
  return undefined;
}

const TIME_COLUMNS = new Set(['_commit_time', '_event_time']);
const TS_RE = /^(-?\d{4,6})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/;
/** Widest UTC offset: a literal without one may mean any local time. */
const ZONE_SLACK_MS = 14 * 3600_000;

/**
 * A timestamp literal (`'2024-01-02 03:00'`, `TIMESTAMPTZ '…+02'`, `DATE '…'`) as epoch ms with
 * its uncertainty: literals without an explicit offset depend on the session time zone, so
 * they count as ±14 h.
 */
function timeConstant(n: Node | undefined): { ms: number; slack: number } | undefined {
  let v = n;
  if (v?.['class'] === 'CAST') {
    const to = (v['cast_type'] as { id?: string } | undefined)?.id ?? '';
    if (!/^(TIMESTAMP|TIMESTAMP WITH TIME ZONE|TIMESTAMP_TZ|DATE)$/.test(to)) return undefined;
    v = v['child'] as Node;
  }
  if (v?.['class'] !== 'CONSTANT') return undefined;
  const val = v['value'] as { is_null?: boolean; value?: unknown; type?: { id?: string } } | undefined;
  if (val === undefined || val.is_null === true || val.type?.id !== 'VARCHAR' || typeof val.value !== 'string') return undefined;
  const m = TS_RE.exec(val.value.trim());
  if (m === null) return undefined;
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', zone] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec), Number((frac + '000').slice(0, 3)));
  if (!Number.isFinite(ms)) return undefined;
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 3600_000 + Number(digits.slice(2, 4) || '0') * 60_000);
  }
  return { ms, slack: zone === undefined ? ZONE_SLACK_MS : 0 };
}

function timeColumn(n: Node | undefined): boolean {
  const c = column(n);
  return c !== undefined && TIME_COLUMNS.has(c);
}

/** An object's rows lie in [lo, hi + 1 ms) (µs are floored to ms in the catalog). */
function timeRestriction(n: Node): MayOverlap | undefined {
  const type = String(n['type']);
  if (type === 'COMPARE_BETWEEN') {
    if (!timeColumn(n['input'] as Node)) return undefined;
    const a = timeConstant(n['lower'] as Node);
    const b = timeConstant(n['upper'] as Node);
    if (a === undefined || b === undefined) return undefined;
    return (lo, hi) => hi + 1 + a.slack >= a.ms && lo - b.slack <= b.ms;
  }
  const cmp = CMP[type] ?? (type === 'COMPARE_EQUAL' ? '=' : undefined);
  if (cmp === undefined) return undefined;
  let op: Cmp | '=' = cmp;
  let c = timeColumn(n['left'] as Node) ? timeConstant(n['right'] as Node) : undefined;
  if (c === undefined && timeColumn(n['right'] as Node)) {
    c = timeConstant(n['left'] as Node);
    op = cmp === '=' ? '=' : FLIP[cmp];
  }
  if (c === undefined) return undefined;
  const k = c;
  if (op === '>' || op === '>=') return (_lo, hi) => hi + 1 + k.slack >= k.ms;
  if (op === '<' || op === '<=') return (lo) => lo - k.slack <= k.ms;
  return (lo, hi) => lo - k.slack <= k.ms && hi + 1 + k.slack >= k.ms;
}

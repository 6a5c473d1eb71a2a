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

/** Conditions per partition column (lower-case names), for one view name (lower-case, dotted). */
export interface PartitionFilter {
  readonly view: string;
  readonly allowed: ReadonlyMap<string, readonly MayPass[]>;
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
  for (const c of conjuncts(node['where_clause'] as Node)) {
    const r = restriction(c);
    if (r === undefined) continue;
    allowed.set(r.column, [...(allowed.get(r.column) ?? []), r.test]);
  }
  return allowed.size === 0 ? undefined : { view, allowed };
}

/** Whether an object can hold rows the filter lets through. */
export function mayMatch(o: Pick<CatalogObject, 'partition'>, f: PartitionFilter): boolean {
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

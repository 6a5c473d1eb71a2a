/**
 * Name patterns shared by the transforms' table and column rules: `*` matches any run of
 * characters, `?` one character, matching is case-insensitive (database identifiers are
 * usually case-insensitive, and a rule that silently misses `Email` would leak it).
 */
import type { Envelope } from '../../core/change-event.ts';

/** A compiled glob: true when a name matches. */
export type NameMatcher = (name: string) => boolean;

/** Compiles one glob pattern. */
export function compileGlob(pattern: string): NameMatcher {
  if (!/[*?]/.test(pattern)) {
    const lower = pattern.toLowerCase();
    return (name) => name.toLowerCase() === lower;
  }
  const re = new RegExp(
    '^' +
      pattern
        .split('')
        .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
        .join('') +
      '$',
    'i',
  );
  return (name) => re.test(name);
}

/** Compiles a list of globs: true when any matches. An empty list matches nothing. */
export function compileGlobs(patterns: readonly string[]): NameMatcher {
  const ms = patterns.map(compileGlob);
  return (name) => ms.some((m) => m(name));
}

/** The names a table pattern is tried against, most specific last. */
export interface TableRef {
  /** Source name in the pipeline file. */
  readonly source: string;
  readonly schema: string;
  readonly table: string;
}

/** The table an envelope belongs to; a log event's "table" is its source name. */
export function tableRefOf(e: Envelope): TableRef {
  if (e.op === 'event') return { source: e.source.name, schema: '', table: e.source.name };
  return { source: e.source.name, schema: e.source.schema, table: e.source.table };
}

/** Cache key for per-table plans. */
export function tableKey(t: TableRef): string {
  return `${t.source}\u0000${t.schema}\u0000${t.table}`;
}

/**
 * Compiles table patterns. A pattern without a dot matches the table name, `schema.table`
 * matches with its schema and `source.schema.table` with its source too, so `customers`,
 * `public.customers` and `shop.public.customers` all select the same table.
 */
export function compileTablePatterns(patterns: readonly string[]): (t: TableRef) => boolean {
  const ms = patterns.map((p) => ({ dots: p.split('.').length - 1, m: compileGlob(p) }));
  return (t) =>
    ms.some(({ dots, m }) => {
      if (dots === 0) return m(t.table);
      if (dots === 1) return m(`${t.schema}.${t.table}`);
      return m(`${t.source}.${t.schema}.${t.table}`);
    });
}

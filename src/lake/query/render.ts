/** Renders query results as an aligned text table, CSV (RFC 4180) or JSON lines. */
import { quote } from '../../delivery/formats/csv.ts';
import type { QueryResult } from './lake-query.ts';

export const OUTPUT_FORMATS = ['table', 'csv', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The result in the chosen format, ending with a newline. */
export function renderResult(r: QueryResult, format: OutputFormat): string {
  if (format === 'json') return r.rows.map((row) => JSON.stringify(row)).join('\n') + (r.rows.length > 0 ? '\n' : '');
  if (format === 'csv') {
    const lines = [r.columns.map(quote).join(',')];
    for (const row of r.rows) lines.push(r.columns.map((c) => (row[c] === null || row[c] === undefined ? '' : quote(cell(row[c])))).join(','));
    return lines.join('\r\n') + '\r\n';
  }
  const cells = r.rows.map((row) => r.columns.map((c) => (row[c] === null || row[c] === undefined ? 'NULL' : cell(row[c]).replace(/\n/g, '\\n'))));
  const widths = r.columns.map((c, i) => Math.min(60, Math.max(c.length, ...cells.map((row) => (row[i] as string).length))));
  const fit = (s: string, w: number): string => (s.length > w ? s.slice(0, w - 1) + '…' : s.padEnd(w));
  const line = (vals: readonly string[]): string => vals.map((v, i) => fit(v, widths[i] as number)).join(' | ').trimEnd();
  const out = [line(r.columns), widths.map((w) => '-'.repeat(w)).join('-+-'), ...cells.map(line), `(${r.rows.length} row${r.rows.length === 1 ? '' : 's'})`];
  return out.join('\n') + '\n';
}

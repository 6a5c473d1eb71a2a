/**
 * CSV (RFC 4180): comma separated, CRLF line ends, a field is quoted when it holds a comma,
 * quote, CR, LF or leading/trailing space, quotes doubled. NULL is an empty unquoted field and
 * the empty string is `""`, so the two stay distinct (as DuckDB and PostgreSQL read them).
 */
import { writeFile } from 'node:fs/promises';
import { compress, type Compression } from '../compression.ts';
import type { FailedRow, FormatWriter, OutputColumn, RowSource, WriteResult } from './format.ts';
import { valueToText } from './text-values.ts';

export class CsvWriter implements FormatWriter {
  readonly extension = 'csv';
  readonly contentType = 'text/csv';
  readonly #header: boolean;

  constructor(options: { readonly header: boolean }) {
    this.#header = options.header;
  }

  async write(columns: readonly OutputColumn[], rows: RowSource, file: string, compression: Compression): Promise<WriteResult> {
    const lines: string[] = [];
    const failed: FailedRow[] = [];
    if (this.#header) lines.push(columns.map((c) => quote(c.name)).join(','));
    let written = 0;
    for (let i = 0; i < rows.length; i++) {
      try {
        lines.push(columns.map((c) => {
          const v = rows.value(i, c.name);
          return v === null ? '' : quote(valueToText(v));
        }).join(','));
        written++;
      } catch (err) {
        failed.push({ index: i, error: (err as Error).message });
      }
    }
    const text = lines.length === 0 ? '' : lines.join('\r\n') + '\r\n';
    await writeFile(file, await compress(compression, Buffer.from(text, 'utf8')));
    return { rows: written, failed };
  }

  async close(): Promise<void> {}
}

/** Quotes a field when RFC 4180 (or a lossless empty string) needs it. */
export function quote(s: string): string {
  if (s === '' || /[",\r\n]/.test(s) || s.trim() !== s) return `"${s.replace(/"/g, '""')}"`;
  return s;
}

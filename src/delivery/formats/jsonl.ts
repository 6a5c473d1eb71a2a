/**
 * Newline-delimited JSON: one object per row, keys in column order, values in Hydrant's
 * lossless JSON encoding (`values.ts`: plain JSON where exact, tagged objects such as
 * `{"$i":"9007199254740993"}` where not).
 */
import { writeFile } from 'node:fs/promises';
import { encodeValue, type Encoded } from '../../core/values.ts';
import { compress, type Compression } from '../compression.ts';
import type { FailedRow, FormatWriter, OutputColumn, RowSource, WriteResult } from './format.ts';

export class JsonlWriter implements FormatWriter {
  readonly extension = 'jsonl';
  readonly contentType = 'application/x-ndjson';

  async write(columns: readonly OutputColumn[], rows: RowSource, file: string, compression: Compression): Promise<WriteResult> {
    const parts: string[] = [];
    const failed: FailedRow[] = [];
    for (let i = 0; i < rows.length; i++) {
      try {
        const o: Record<string, Encoded> = {};
        for (const c of columns) o[c.name] = encodeValue(rows.value(i, c.name));
        parts.push(JSON.stringify(o));
      } catch (err) {
        failed.push({ index: i, error: (err as Error).message });
      }
    }
    const text = parts.length === 0 ? '' : parts.join('\n') + '\n';
    await writeFile(file, await compress(compression, Buffer.from(text, 'utf8')));
    return { rows: parts.length, failed };
  }

  async close(): Promise<void> {}
}

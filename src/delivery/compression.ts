/**
 * Whole-object compression for row formats (JSONL, CSV): gzip (node zlib), snappy (raw block
 * format, `snappyjs`, pure JS) and zstd (`@bokuweb/zstd-wasm`, the wasm ships in the npm
 * package). Parquet compresses inside the file instead (see `formats/parquet.ts`).
 */
import { gzipSync, gunzipSync } from 'node:zlib';
import { init as zstdInit, compress as zstdCompress, decompress as zstdDecompress } from '@bokuweb/zstd-wasm';
import snappy from 'snappyjs';

/** Compression codecs a delivery can name. */
export const COMPRESSIONS = ['none', 'gzip', 'snappy', 'zstd'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

/** File-name suffix of a codec (`.gz`, `.snappy`, `.zst`, or ''). */
export function compressionSuffix(c: Compression): string {
  return c === 'gzip' ? '.gz' : c === 'snappy' ? '.snappy' : c === 'zstd' ? '.zst' : '';
}

let zstdReady: Promise<void> | undefined;

/** Compresses a whole object. */
export async function compress(c: Compression, data: Uint8Array): Promise<Uint8Array> {
  switch (c) {
    case 'none':
      return data;
    case 'gzip':
      return gzipSync(data, { level: 6 });
    case 'snappy':
      return snappy.compress(data);
    case 'zstd':
      await (zstdReady ??= zstdInit());
      return zstdCompress(data, 3);
  }
}

/** Inverse of {@link compress} (used by tests and the query cache). */
export async function decompress(c: Compression, data: Uint8Array): Promise<Uint8Array> {
  switch (c) {
    case 'none':
      return data;
    case 'gzip':
      return gunzipSync(data);
    case 'snappy':
      return snappy.uncompress(data);
    case 'zstd':
      await (zstdReady ??= zstdInit());
      return zstdDecompress(data);
  }
}

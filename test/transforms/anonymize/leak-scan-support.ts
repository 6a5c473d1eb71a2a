/**
 * Scans every file under a directory for forbidden strings, decompressing what is compressed:
 * gzip/snappy/zstd objects are decompressed whole, Parquet files are also decoded row by row
 * (their pages are compressed, so raw bytes alone would prove nothing). A compressed file the
 * scanner cannot read fails the scan instead of passing silently.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { decompress, type Compression } from '../../../src/delivery/compression.ts';

/** Every regular file under `dir`. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/** The readable texts of one file: its raw bytes, plus decompressed or decoded forms. */
export async function textsOf(file: string): Promise<string[]> {
  const raw = readFileSync(file);
  const texts = [raw.toString('latin1'), raw.toString('utf8')];
  const codec: Compression | undefined = file.endsWith('.gz') || raw.subarray(0, 2).equals(GZIP_MAGIC) ? 'gzip' : file.endsWith('.zst') || raw.subarray(0, 4).equals(ZSTD_MAGIC) ? 'zstd' : file.endsWith('.snappy') ? 'snappy' : undefined;
  if (codec !== undefined) texts.push(Buffer.from(await decompress(codec, raw)).toString('utf8'));
  if (file.endsWith('.parquet')) {
    const rows = await parquetReadObjects({ file: raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength), compressors });
    texts.push(JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v)));
  }
  return texts;
}

/** One forbidden string found somewhere. */
export interface Leak {
  readonly where: string;
  readonly what: string;
}

/** Finds each of `needles` in every file under `dirs` and in `extraTexts`; returns what leaked. */
export async function scanForLeaks(dirs: readonly string[], extraTexts: Readonly<Record<string, string>>, needles: readonly string[]): Promise<{ leaks: Leak[]; files: number; bytes: number }> {
  const leaks: Leak[] = [];
  let files = 0;
  let bytes = 0;
  const check = (where: string, texts: readonly string[]): void => {
    for (const n of needles) if (texts.some((t) => t.includes(n))) leaks.push({ where, what: n });
  };
  for (const d of dirs) {
    for (const f of listFiles(d)) {
      files++;
      bytes += statSync(f).size;
      check(relative(d, f), await textsOf(f));
    }
  }
  for (const [where, t] of Object.entries(extraTexts)) check(where, [t]);
  return { leaks, files, bytes };
}

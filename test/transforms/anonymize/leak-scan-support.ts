/**
 * Scans every file under a directory for forbidden strings, decompressing what is compressed:
 * gzip/snappy/zstd objects are decompressed whole, Parquet files are also decoded row by row
 * (their pages are compressed, so raw bytes alone would prove nothing). A compressed file the
 * scanner cannot read fails the scan instead of passing silently. Also the pipeline tail the
 * leak tests share: a typical anonymization of the shop tables into a Parquet and a JSONL lake.
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

/**
 * The `transforms:` and `deliveries:` sections of the leak tests' pipelines: transform `anon`
 * (for the source edge) with `key: KEY` (a YAML flow map), pseudonymizing the customer keys and
 * emails, redacting names and addresses, tokenizing phones and generalizing birth dates; then a
 * zstd Parquet lake and a gzip JSONL lake under `jsonl/`, both from stream `changes`.
 */
export function anonymizeToLakeYaml(key: string): string {
  return `transforms:
  anon:
    type: anonymize
    key: ${key}
    rules:
      - { tables: [customers], columns: [id], action: pseudonymize }
      - { tables: [orders], columns: [customer_id], action: pseudonymize }
      - { columns: [email], action: pseudonymize }
      - { tables: [customers], columns: [name], action: redact, value: '[redacted]' }
      - { columns: [phone], action: tokenize }
      - { columns: [address], action: redact }
      - { columns: [birth_date], action: generalize, to: year }
deliveries:
  parquet: { type: lake, stream: changes, format: parquet, compression: zstd, buffer_interval_s: 0 }
  jsonl: { type: lake, stream: changes, format: jsonl, compression: gzip, buffer_interval_s: 0, changes_prefix: 'jsonl/{source}/{schema}/{table}/' }
`;
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

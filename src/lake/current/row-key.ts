/**
 * Row identity for current-state tables: a canonical key string built from the primary-key
 * values (through the lossless codec, so `1n` and `1.0` never collide and 64-bit keys stay
 * exact) and a stable hash bucket of that string, which decides the file a row lives in.
 */
import { encodeValue, type Row, type Value } from '../../core/values.ts';
import { MergeError } from './errors.ts';

/**
 * The canonical key of a row: the JSON of its primary-key values in key order. Throws a
 * {@link MergeError} naming the table when a key column is absent from `row`.
 */
export function keyString(row: Row, primaryKey: readonly string[], table: string): string {
  const vals: Value[] = [];
  for (const c of primaryKey) {
    if (!Object.hasOwn(row, c)) {
      throw new MergeError(`change for table ${table} lacks primary-key column ${JSON.stringify(c)}; the source must send every key column in key/before/after.`, { table, column: c });
    }
    vals.push(row[c] as Value);
  }
  return JSON.stringify(encodeValue(vals));
}

/** true when `row` carries every primary-key column (e.g. a `before` image with the old key). */
export function hasKey(row: Row | null, primaryKey: readonly string[]): row is Row {
  return row !== null && primaryKey.length > 0 && primaryKey.every((c) => Object.hasOwn(row, c));
}

/**
 * Bucket of a key string in `0..buckets-1`: FNV-1a (32-bit) over the UTF-16 code units.
 * Stable across processes and versions, because the bucket is part of the file layout.
 */
export function bucketOf(key: string, buckets: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % buckets;
}

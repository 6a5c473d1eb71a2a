/**
 * Row identity for current-state tables: a canonical key string built from the primary-key
 * values (through the lossless codec, so `1n` and `1.0` never collide and 64-bit keys stay
 * exact) and a stable hash bucket of that string, which decides the file a row lives in.
 */
import { encodeValue, type Row, type Value } from '../../core/values.ts';
import { MergeError } from './errors.ts';

/**
 * The canonical key of a row: each primary-key value as a type tag, its text length and its
 * text, in key order (`i3:42` for the bigint 42, `s5:hello`; other types as their codec
 * JSON), so keys of different types never collide and the string needs no escaping. Throws a
 * {@link MergeError} naming the table when a key column is absent from `row`.
 */
export function keyString(row: Row, primaryKey: readonly string[], table: string): string {
  let out = '';
  for (let i = 0; i < primaryKey.length; i++) {
    const c = primaryKey[i] as string;
    const v = row[c];
    if (v === undefined && !Object.hasOwn(row, c)) {
      throw new MergeError(`change for table ${table} lacks primary-key column ${JSON.stringify(c)}; the source must send every key column in key/before/after.`, { table, column: c });
    }
    out += part(v as Value);
  }
  return out;
}

function part(v: Value): string {
  let tag: string;
  let text: string;
  switch (typeof v) {
    case 'bigint': tag = 'i'; text = v.toString(); break;
    case 'string': tag = 's'; text = v; break;
    case 'number': tag = 'n'; text = Object.is(v, -0) ? '-0' : String(v); break;
    case 'boolean': tag = 'b'; text = v ? '1' : '0'; break;
    default: tag = 'j'; text = JSON.stringify(encodeValue(v));
  }
  return `${tag}${text.length}:${text}`;
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

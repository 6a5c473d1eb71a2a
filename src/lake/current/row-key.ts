/**
 * Row identity for current-state tables: a canonical key string built from the primary-key
 * values and a stable hash bucket of that string, which decides the file a row lives in.
 * Both are also computed in SQL (see {@link keySql}, {@link bucketSql}) by the merge that runs
 * entirely in DuckDB, so the two definitions must stay identical.
 */
import { createHash } from 'node:crypto';
import { encodeValue, type Row, type Value } from '../../core/values.ts';
import { MergeError } from './errors.ts';

/**
 * The canonical key of a row: each primary-key value as a type tag, the UTF-8 byte length of
 * its text and its text, in key order (`i2:42` for the integer 42 whether a bigint or a number,
 * `s5:hello`; other types as their codec JSON), so keys of different types never collide and
 * the string needs no escaping. Throws a {@link MergeError} naming the table when a key
 * column is absent from `row`.
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
  switch (typeof v) {
    case 'bigint': {
      const t = v.toString();
      return `i${t.length}:${t}`;
    }
    case 'string': return `s${Buffer.byteLength(v)}:${v}`;
    case 'number': {
      // Integers are one key whatever carries them (an int4 arrives as a number, an int8 as a bigint).
      if (Number.isInteger(v) && !Object.is(v, -0)) {
        const t = String(v);
        return /e/.test(t) ? `i${BigInt(v).toString().length}:${BigInt(v).toString()}` : `i${t.length}:${t}`;
      }
      const t = Object.is(v, -0) ? '-0' : String(v);
      return `n${t.length}:${t}`;
    }
    case 'boolean': return v ? 'b1:1' : 'b1:0';
    default: {
      const t = JSON.stringify(encodeValue(v));
      return `j${Buffer.byteLength(t)}:${t}`;
    }
  }
}

/** Key column types whose key text SQL computes exactly like {@link keyString}. */
export function sqlKeyable(kind: string): boolean {
  return kind === 'int16' || kind === 'int32' || kind === 'int64' || kind === 'string' || kind === 'enum' || kind === 'uuid';
}

/**
 * SQL expression of {@link keyString} over columns `cols` (already quoted, each cast to BIGINT
 * for integer kinds or VARCHAR for text kinds); only for {@link sqlKeyable} kinds.
 */
export function keySql(cols: ReadonlyArray<{ readonly expr: string; readonly kind: string }>): string {
  return cols.map((c) => {
    const t = c.kind === 'string' || c.kind === 'enum' || c.kind === 'uuid' ? `CAST(${c.expr} AS VARCHAR)` : `CAST(CAST(${c.expr} AS BIGINT) AS VARCHAR)`;
    return `'${c.kind === 'string' || c.kind === 'enum' || c.kind === 'uuid' ? 's' : 'i'}' || strlen(${t}) || ':' || ${t}`;
  }).join(' || ');
}

/** SQL expression of {@link bucketOf} over a key-text expression. */
export function bucketSql(keyExpr: string, buckets: number): string {
  return `CAST(CAST('0x' || substr(md5(${keyExpr}), 1, 8) AS BIGINT) % ${buckets} AS INTEGER)`;
}

/** true when `row` carries every primary-key column (e.g. a `before` image with the old key). */
export function hasKey(row: Row | null, primaryKey: readonly string[]): row is Row {
  return row !== null && primaryKey.length > 0 && primaryKey.every((c) => Object.hasOwn(row, c));
}

/**
 * Bucket of a key string in `0..buckets-1`: the first 32 bits of the MD5 of its UTF-8 bytes.
 * Stable across processes and versions (it is part of the file layout), and computable in SQL.
 */
export function bucketOf(key: string, buckets: number): number {
  return createHash('md5').update(key).digest().readUInt32BE(0) % buckets;
}

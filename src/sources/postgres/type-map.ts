/**
 * PostgreSQL type → Hydrant column type and text parser. Built-in types are known by OID;
 * enums, domains and arrays of them are looked up once in `pg_type` (through
 * {@link TypeLookup}) and cached. Unknown types pass through as text, with one warning each.
 * The mapping is documented in docs/sources/postgres.md.
 */
import type { ColumnType } from '../../core/schema.ts';
import type { Logger } from '../../core/logger.ts';
import {
  parseArray, parseBool, parseBytea, parseDate, parseFloat, parseInt32, parseInt64, parseInterval, parseJson, parseNumeric, parseString,
  parseTime, parseTimestamp, parseTimestamptz, parseTimetz, type TextParser,
} from './type-parsers.ts';

/** How a column's values are typed and parsed. */
export interface ResolvedType {
  readonly type: ColumnType;
  readonly parse: TextParser;
  /** PostgreSQL's name for the type, e.g. `numeric(12,2)`, `_int4`, `mood`. */
  readonly sourceType: string;
}

interface Builtin {
  readonly name: string;
  readonly type: ColumnType;
  readonly parse: TextParser;
}

const S = (kind: Exclude<ColumnType['kind'], 'decimal' | 'enum' | 'list'>): ColumnType => ({ kind });

/** Built-in scalar types by OID. */
const BUILTIN = new Map<number, Builtin>([
  [16, { name: 'bool', type: S('boolean'), parse: parseBool }],
  [17, { name: 'bytea', type: S('bytes'), parse: parseBytea }],
  [18, { name: 'char', type: S('string'), parse: parseString }],
  [19, { name: 'name', type: S('string'), parse: parseString }],
  [20, { name: 'int8', type: S('int64'), parse: parseInt64 }],
  [21, { name: 'int2', type: S('int16'), parse: parseInt32 }],
  [23, { name: 'int4', type: S('int32'), parse: parseInt32 }],
  [25, { name: 'text', type: S('string'), parse: parseString }],
  [26, { name: 'oid', type: S('int64'), parse: parseInt64 }],
  [114, { name: 'json', type: S('json'), parse: parseJson }],
  [142, { name: 'xml', type: S('string'), parse: parseString }],
  [650, { name: 'cidr', type: S('string'), parse: parseString }],
  [700, { name: 'float4', type: S('float32'), parse: parseFloat }],
  [701, { name: 'float8', type: S('float64'), parse: parseFloat }],
  [774, { name: 'macaddr8', type: S('string'), parse: parseString }],
  [829, { name: 'macaddr', type: S('string'), parse: parseString }],
  [869, { name: 'inet', type: S('string'), parse: parseString }],
  [1042, { name: 'bpchar', type: S('string'), parse: parseString }],
  [1043, { name: 'varchar', type: S('string'), parse: parseString }],
  [1082, { name: 'date', type: S('date'), parse: parseDate }],
  [1083, { name: 'time', type: S('time'), parse: parseTime }],
  [1114, { name: 'timestamp', type: S('timestamp'), parse: parseTimestamp }],
  [1184, { name: 'timestamptz', type: S('timestamptz'), parse: parseTimestamptz }],
  [1186, { name: 'interval', type: S('interval'), parse: parseInterval }],
  [1266, { name: 'timetz', type: S('timetz'), parse: parseTimetz }],
  [1700, { name: 'numeric', type: { kind: 'decimal' }, parse: parseNumeric }],
  [2950, { name: 'uuid', type: S('uuid'), parse: parseString }],
  [3802, { name: 'jsonb', type: S('json'), parse: parseJson }],
  [3614, { name: 'tsvector', type: S('string'), parse: parseString }],
  [1560, { name: 'bit', type: S('string'), parse: parseString }],
  [1562, { name: 'varbit', type: S('string'), parse: parseString }],
  [790, { name: 'money', type: S('string'), parse: parseString }],
]);

/** Built-in array types by OID → element OID. */
const BUILTIN_ARRAYS = new Map<number, number>([
  [1000, 16], [1001, 17], [1002, 18], [1003, 19], [1016, 20], [1005, 21], [1007, 23], [1009, 25], [1028, 26], [199, 114],
  [1021, 700], [1022, 701], [1014, 1042], [1015, 1043], [1182, 1082], [1183, 1083], [1115, 1114], [1185, 1184], [1187, 1186],
  [1270, 1266], [1231, 1700], [2951, 2950], [3807, 3802], [651, 650], [1041, 869], [1040, 829],
]);

/** One row of `pg_type` as {@link TypeLookup} returns it. */
export interface PgTypeRow {
  readonly oid: number;
  readonly name: string;
  /** `b` base, `e` enum, `d` domain, `c` composite, `r` range, ... */
  readonly typtype: string;
  /** Element type of an array type, else 0. */
  readonly elem: number;
  /** Base type of a domain, else 0. */
  readonly base: number;
  readonly delim: string;
  /** `A` for arrays. */
  readonly category: string;
  /** Enum labels in order (enums only). */
  readonly labels: readonly string[] | null;
}

/** Looks up types by OID in the catalog (a normal SQL connection). */
export type TypeLookup = (oid: number) => Promise<PgTypeRow | undefined>;

/** SQL used by the source's {@link TypeLookup}. */
export const PG_TYPE_SQL = `select t.oid::int as oid, t.typname as name, t.typtype::text as typtype, t.typelem::int as elem, t.typbasetype::int as base,
  t.typdelim::text as delim, t.typcategory::text as category,
  (select array_agg(e.enumlabel::text order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid) as labels
  from pg_type t where t.oid = $1`;

/** Resolves and caches type OIDs; warns once per unknown type. */
export class TypeResolver {
  readonly #lookup: TypeLookup;
  readonly #logger: Logger;
  readonly #cache = new Map<number, ResolvedType>();

  constructor(lookup: TypeLookup, logger: Logger) {
    this.#lookup = lookup;
    this.#logger = logger;
  }

  /** Resolves a column's type; `typmod` refines numeric precision and scale. */
  async resolve(oid: number, typmod: number): Promise<ResolvedType> {
    const base = await this.#resolveOid(oid, 0);
    if (oid === 1700 && typmod >= 4) {
      const precision = ((typmod - 4) >> 16) & 0xffff;
      const scale = (typmod - 4) & 0xffff;
      return { ...base, type: { kind: 'decimal', precision, scale }, sourceType: `numeric(${precision},${scale})` };
    }
    return base;
  }

  /** Resolves synchronously when the OID is built in or already cached. */
  cached(oid: number): ResolvedType | undefined {
    return this.#cache.get(oid) ?? builtin(oid);
  }

  async #resolveOid(oid: number, depth: number): Promise<ResolvedType> {
    const hit = this.#cache.get(oid) ?? builtin(oid);
    if (hit !== undefined) return hit;
    const elemOid = BUILTIN_ARRAYS.get(oid);
    let resolved: ResolvedType;
    if (elemOid !== undefined) {
      resolved = arrayOf(await this.#resolveOid(elemOid, depth + 1), ',');
    } else {
      const row = depth > 8 ? undefined : await this.#lookup(oid);
      if (row === undefined) {
        resolved = this.#unknown(oid, `oid ${oid}`);
      } else if (row.category === 'A' && row.elem !== 0) {
        resolved = arrayOf(await this.#resolveOid(row.elem, depth + 1), row.delim || ',');
        resolved = { ...resolved, sourceType: row.name };
      } else if (row.typtype === 'e') {
        resolved = { type: { kind: 'enum', values: row.labels ?? [] }, parse: parseString, sourceType: row.name };
      } else if (row.typtype === 'd' && row.base !== 0) {
        const b = await this.#resolveOid(row.base, depth + 1);
        resolved = { ...b, sourceType: row.name };
      } else {
        resolved = this.#unknown(oid, row.name);
      }
    }
    this.#cache.set(oid, resolved);
    return resolved;
  }

  #unknown(oid: number, name: string): ResolvedType {
    this.#logger.warn('PostgreSQL type has no Hydrant mapping: values pass through as text', { oid, type: name });
    return { type: { kind: 'unknown' }, parse: parseString, sourceType: name };
  }
}

function builtin(oid: number): ResolvedType | undefined {
  const b = BUILTIN.get(oid);
  return b === undefined ? undefined : { type: b.type, parse: b.parse, sourceType: b.name };
}

function arrayOf(el: ResolvedType, delim: string): ResolvedType {
  const parse: TextParser = (s) => parseArray(s, el.parse, delim);
  return { type: { kind: 'list', element: el.type }, parse, sourceType: `_${el.sourceType}` };
}

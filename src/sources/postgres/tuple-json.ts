/**
 * A pgoutput tuple straight to the JSON text of its row and key, for change events written as
 * stream records by the source itself (see encoded-events.ts): the same text as
 * `valueToJson(row)` and `valueToJson(key)` of the rows `readTuple` and the change builder make,
 * without building them. Column values come from {@link columnJsonFor}.
 */
import { CodecError } from '../../core/errors.ts';
import { quote, quoteKey, valueToJson } from '../../core/values.ts';
import type { ColumnReader, Latin1Text } from './column-readers.ts';
import type { RelationState } from './relations.ts';
import { parseBool, parseInt32, parseInt64, parseJson, parseNumeric, parseString, type TextParser } from './type-parsers.ts';

/** Bytes `s..e` of `b` (one text-format column value) to value JSON. */
export type ColumnJson = (b: Buffer, s: number, e: number, text: Latin1Text) => string;

/**
 * The JSON writer for a column parsed by `parse` and read from bytes by `read`: exactly
 * `valueToJson(read(b, s, e, text))`. Integers, numeric and booleans are ASCII text that is
 * already (or is wrapped into) their JSON; strings and json are quoted; every other type takes
 * its reader and `valueToJson`.
 */
export function columnJsonFor(parse: TextParser, read: ColumnReader): ColumnJson {
  switch (parse) {
    case parseInt32:
      return (b, s, e, text) => text.slice(b, s, e);
    case parseInt64:
      return (b, s, e, text) => '{"$i":"' + text.slice(b, s, e) + '"}';
    case parseNumeric:
      return (b, s, e, text) => '{"$n":"' + text.slice(b, s, e) + '"}';
    case parseBool:
      return (b, s, e) => (e - s === 1 && b[s] === 0x74 ? 'true' : 'false');
    case parseString:
      return (b, s, e, text) => quote(read(b, s, e, text) as string);
    case parseJson:
      return (b, s, e, text) => '{"$j":' + quote(text.utf8(b, s, e)) + '}';
    default:
      return (b, s, e, text) => valueToJson(read(b, s, e, text));
  }
}

/** Per relation: each column's JSON writer and quoted name (made once per Relation message). */
interface RelationJson {
  readonly writers: readonly (ColumnJson | undefined)[];
  readonly names: readonly string[];
  /**
   * A captured column name the object path would write differently: one starting with `$`
   * (rows become `{"$o":…}`) or an integer-like one (JavaScript objects list those first, not in
   * column order). Such relations stay on the object path.
   */
  readonly unsupported: boolean;
}

const byRelation = new WeakMap<RelationState, RelationJson>();

function relationJson(rel: RelationState): RelationJson {
  let j = byRelation.get(rel);
  if (j === undefined) {
    j = {
      writers: rel.columns.map((c) => (c.captured ? columnJsonFor(c.parse, c.read) : undefined)),
      names: rel.columns.map((c) => quoteKey(c.name) + ':'),
      unsupported: rel.columns.some((c) => c.name.charCodeAt(0) === 36 || /^(0|[1-9][0-9]*)$/.test(c.name)),
    };
    byRelation.set(rel, j);
  }
  return j;
}

/** True when {@link readTupleJson} can write this relation's rows. */
export function tupleJsonSupported(rel: RelationState): boolean {
  return !relationJson(rel).unsupported;
}

/** What {@link readTupleJson} returns (reused: read the fields before the next call). */
export interface TupleJson {
  /** Row JSON (`valueToJson(row)`). */
  row: string;
  /** Key JSON in key-column order; an absent key value (unchanged TOAST) is `null`. */
  key: string;
  /** Offset after the tuple. */
  end: number;
}

const out: TupleJson = { row: '', key: '', end: 0 };
/** Per column index: the value JSON of the tuple being read ('' = absent). */
let values: string[] = [];

/**
 * Reads the TupleData at `o` of `b`: the row's JSON (captured columns in column order,
 * unchanged TOAST columns left out and pushed to `unchanged`) and the key's JSON. With `keyOnly`
 * the row holds only the key columns that are present (a delete's old-key tuple as `before`).
 * Check {@link tupleJsonSupported} first.
 */
export function readTupleJson(rel: RelationState, b: Buffer, o: number, unchanged: string[], text: Latin1Text, keyOnly = false): TupleJson {
  const j = relationJson(rel);
  const cols = rel.columns;
  const n = (b[o] as number) * 256 + (b[o + 1] as number);
  o += 2;
  if (values.length < n) values = new Array<string>(n).fill('');
  let row = '';
  for (let i = 0; i < n; i++) {
    const k = b[o++];
    const w = j.writers[i];
    let v = '';
    if (k === 0x74 /* t */) {
      const len = (b[o] as number) * 0x1000000 + (((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number));
      o += 4;
      if (w !== undefined) {
        try {
          v = w(b, o, o + len, text);
        } catch (err) {
          throw new CodecError(`${rel.schemaName}.${rel.table}.${(cols[i] as { name: string }).name}: ${(err as Error).message}`, { cause: err });
        }
      }
      o += len;
    } else if (k === 0x6e /* n */) {
      if (w !== undefined) v = 'null';
    } else if (k === 0x75 /* u */) {
      if (w !== undefined) unchanged.push((cols[i] as { name: string }).name);
    } else throw new CodecError(`unsupported pgoutput tuple column kind ${JSON.stringify(String.fromCharCode(k ?? 0))}: Hydrant requests text format`);
    values[i] = v;
    if (v !== '' && !keyOnly) row += (row === '' ? '' : ',') + j.names[i] + v;
  }
  let key = '';
  for (const i of rel.keyIndexes) {
    if (cols[i] === undefined) continue;
    const v = i < n ? (values[i] as string) : '';
    key += (key === '' ? '' : ',') + j.names[i] + (v === '' ? 'null' : v);
    if (keyOnly && v !== '') row += (row === '' ? '' : ',') + j.names[i] + v;
  }
  for (let i = 0; i < n; i++) values[i] = '';
  out.row = '{' + row + '}';
  out.key = '{' + key + '}';
  out.end = o;
  return out;
}

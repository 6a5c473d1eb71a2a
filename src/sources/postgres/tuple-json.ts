/**
 * Column values of a pgoutput tuple straight to their JSON text, for change events written as
 * stream records by the source itself (see encoded-events.ts and tuple-record.ts, which writes
 * most values as bytes and falls back to these strings): the same text as `valueToJson` of the
 * value the column's reader makes.
 */
import { quote, valueToJson } from '../../core/values.ts';
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

/**
 * True when the record path can write this relation's rows: false when a captured column name
 * would be written differently by the object path, one starting with `$` (rows become
 * `{"$o":…}`) or an integer-like one (JavaScript objects list those first, not in column
 * order). Such relations stay on the object path.
 */
export function tupleJsonSupported(rel: RelationState): boolean {
  let ok = supported.get(rel);
  if (ok === undefined) {
    ok = !rel.columns.some((c) => c.name.charCodeAt(0) === 36 || /^(0|[1-9][0-9]*)$/.test(c.name));
    supported.set(rel, ok);
  }
  return ok;
}

const supported = new WeakMap<RelationState, boolean>();

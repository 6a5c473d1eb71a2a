/**
 * Column text (pgoutput's text format) straight to the JSON text the value codec writes for
 * the parsed value, for sources that write stream records themselves (encoded-events.ts):
 * `textJsonFor(t)(s)` is exactly `valueToJson(t.parse(s))`, without the value object in
 * between where the type allows (integers, numeric, text-like types, booleans, json).
 * Everything else takes the parser and `valueToJson`, so no type is ever written differently
 * from the object path (test/sources/postgres/text-json.test.ts compares both on every type).
 */
import { quote, valueToJson } from '../../core/values.ts';
import type { ResolvedType } from './type-map.ts';
import { parseBool, parseInt32, parseInt64, parseJson, parseNumeric, parseString } from './type-parsers.ts';

/** Column text to value JSON. */
export type TextJson = (text: string) => string;

/** int2/int4 text is already the JSON number (PostgreSQL prints no leading zeros or '+'). */
const int32Json: TextJson = (s) => s;
/** int8/oid: `{"$i":"…"}` around the digits (`BigInt(s).toString()` is `s` for PostgreSQL's output). */
const int64Json: TextJson = (s) => '{"$i":"' + s + '"}';
/** numeric text (digits, '-', '.', NaN, ±Infinity) is the decimal's text as it is. */
const numericJson: TextJson = (s) => '{"$n":"' + s + '"}';
const boolJson: TextJson = (s) => (s === 't' ? 'true' : 'false');
const jsonJson: TextJson = (s) => '{"$j":' + quote(s) + '}';

/** The writer for a column's type. */
export function textJsonFor(t: ResolvedType): TextJson {
  switch (t.parse) {
    case parseInt32:
      return int32Json;
    case parseInt64:
      return int64Json;
    case parseNumeric:
      return numericJson;
    case parseString:
      return quote;
    case parseBool:
      return boolJson;
    case parseJson:
      return jsonJson;
    default: {
      const parse = t.parse;
      return (s) => valueToJson(parse(s));
    }
  }
}

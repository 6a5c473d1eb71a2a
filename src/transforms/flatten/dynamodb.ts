/**
 * DynamoDB attribute values (`{"S": "x"}`, `{"N": "1.5"}`, `M`, `L`, `SS`, `NS`, `BS`,
 * `BOOL`, `NULL`, `B`) to Hydrant values, losslessly: `N` becomes a number when it is a safe
 * integer, a bigint when it is a larger integer and an exact {@link Decimal} otherwise; `B` is
 * base64 and becomes bytes; sets become lists.
 */
import { Decimal, type Value } from '../../core/values.ts';
import { CodecError } from '../../core/errors.ts';

const NUMBER_RE = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
const TAGS = new Set(['S', 'N', 'B', 'BOOL', 'NULL', 'M', 'L', 'SS', 'NS', 'BS']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);
}

function singleKey(v: Record<string, unknown>): string | undefined {
  let only: string | undefined;
  for (const k in v) {
    if (only !== undefined) return undefined;
    only = k;
  }
  return only;
}

/**
 * true when `v` is a well-formed attribute value (checked deeply, payload types included), so
 * that auto-detection does not mistake an ordinary `{"S": 3}` document for DynamoDB JSON.
 */
export function isAttributeValue(v: unknown): boolean {
  if (!isObject(v)) return false;
  const tag = singleKey(v);
  if (tag === undefined || !TAGS.has(tag)) return false;
  const p = v[tag];
  switch (tag) {
    case 'S':
      return typeof p === 'string';
    case 'N':
      return typeof p === 'string' && NUMBER_RE.test(p);
    case 'B':
      return typeof p === 'string' && BASE64_RE.test(p);
    case 'BOOL':
      return typeof p === 'boolean';
    case 'NULL':
      return p === true;
    case 'M':
      return isItem(p);
    case 'L':
      return Array.isArray(p) && p.every(isAttributeValue);
    case 'SS':
      return Array.isArray(p) && p.every((x) => typeof x === 'string');
    case 'NS':
      return Array.isArray(p) && p.every((x) => typeof x === 'string' && NUMBER_RE.test(x));
    case 'BS':
      return Array.isArray(p) && p.every((x) => typeof x === 'string' && BASE64_RE.test(x));
  }
  return false;
}

/** true when `v` is an object whose every value is an attribute value (a DynamoDB item or `M`). */
export function isItem(v: unknown): boolean {
  if (!isObject(v)) return false;
  for (const k in v) if (!isAttributeValue(v[k])) return false;
  return true;
}

/** Converts a DynamoDB number to the exact Hydrant value. */
export function dynamoNumber(text: string): Value {
  if (!NUMBER_RE.test(text)) throw new CodecError(`invalid DynamoDB number ${JSON.stringify(text.slice(0, 40))}`);
  if (/^-?\d+$/.test(text)) {
    const b = BigInt(text);
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  }
  return new Decimal(expandExponent(text));
}

/** Decimal has no exponent form: `1.5E+3` becomes `1500`, `-2e-2` becomes `-0.02`. */
function expandExponent(text: string): string {
  const m = /^(-?)(\d*)(?:\.(\d*))?[eE]([+-]?\d+)$/.exec(text);
  if (m === null) return text.startsWith('.') ? '0' + text : text.startsWith('-.') ? '-0' + text.slice(1) : text;
  const [, sign, int = '', frac = '', expText] = m;
  const exp = Number(expText);
  const digits = (int + frac).replace(/^0+(?=\d)/, '');
  const point = int.replace(/^0+(?=\d)/, '').length + exp;
  if (digits === '' || /^0*$/.test(digits)) return '0';
  let out: string;
  if (point <= 0) out = '0.' + '0'.repeat(-point) + digits;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = digits.slice(0, point) + '.' + digits.slice(point);
  out = out.replace(/^0+(?=\d)/, '');
  return sign + out;
}

/** Converts one attribute value. Throws {@link CodecError} when it is malformed. */
export function unmarshallValue(av: unknown, path = '$'): Value {
  if (!isObject(av)) throw new CodecError(`DynamoDB attribute at ${path} is not an object with one type key`);
  const tag = singleKey(av);
  if (tag === undefined || !TAGS.has(tag)) throw new CodecError(`DynamoDB attribute at ${path} has no single type key (S, N, B, BOOL, NULL, M, L, SS, NS, BS)`);
  const p = av[tag];
  const bad = (): never => {
    throw new CodecError(`DynamoDB attribute ${tag} at ${path} has a malformed payload`);
  };
  switch (tag) {
    case 'S':
      return typeof p === 'string' ? p : bad();
    case 'N':
      return typeof p === 'string' ? dynamoNumber(p) : bad();
    case 'B':
      return typeof p === 'string' ? new Uint8Array(Buffer.from(p, 'base64')) : bad();
    case 'BOOL':
      return typeof p === 'boolean' ? p : bad();
    case 'NULL':
      return null;
    case 'M':
      return isObject(p) ? unmarshallItem(p, path) : bad();
    case 'L':
      return Array.isArray(p) ? p.map((x, i) => unmarshallValue(x, `${path}[${i}]`)) : bad();
    case 'SS':
      return Array.isArray(p) && p.every((x) => typeof x === 'string') ? (p as string[]) : bad();
    case 'NS':
      return Array.isArray(p) && p.every((x) => typeof x === 'string') ? (p as string[]).map(dynamoNumber) : bad();
    case 'BS':
      return Array.isArray(p) && p.every((x) => typeof x === 'string') ? (p as string[]).map((x) => new Uint8Array(Buffer.from(x, 'base64'))) : bad();
  }
  return bad();
}

/** Converts a DynamoDB item (attribute name to attribute value). */
export function unmarshallItem(item: Record<string, unknown>, path = '$'): { [key: string]: Value } {
  const out: { [key: string]: Value } = {};
  for (const k in item) out[k] = unmarshallValue(item[k], `${path}.${k}`);
  return out;
}

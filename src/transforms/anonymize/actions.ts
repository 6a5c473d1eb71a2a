/**
 * What each anonymization action does to one value. Every action maps null to null (there is
 * nothing personal in a missing value, and nullness is useful to analysts), except `drop`,
 * which removes the column.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { DateValue, Decimal, Timestamp, civilFromDays, daysFromCivil, type Value } from '../../core/values.ts';
import { canonicalText } from '../common/text.ts';
import type { AnonymizeRule } from './config.ts';
import { IntegerPseudonymizer } from './integer-pseudonym.ts';

/** Returned by a value action to remove the column. */
export const DROP: unique symbol = Symbol('drop');

/** What an action sees besides the value. */
export interface ActionContext {
  /** Commit (or event) time of the change, epoch ms: the reference for `age`. */
  readonly referenceMillis: number;
}

/** Maps one value. */
export type ValueAction = (v: Value, ctx: ActionContext) => Value | typeof DROP;

/** Builds the value action of a rule. `key` is required for keyed actions (checked by the config). */
export function buildAction(rule: AnonymizeRule, key: Buffer | undefined): ValueAction {
  switch (rule.action) {
    case 'drop':
      return () => DROP;
    case 'redact': {
      const c = rule.value;
      return () => c;
    }
    case 'random': {
      const n = rule.length;
      return (v) => (v === null ? null : randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n));
    }
    case 'hash':
      return (v) => (v === null ? null : createHash('sha256').update(canonicalText(v)).digest('hex'));
    case 'mask':
      return rule.mode === 'email_domain' ? maskEmail(rule.mask_char) : maskKeepLast(rule.keep_first, rule.keep_last, rule.mask_char);
    case 'pseudonymize':
      return memoize(pseudonymize(need(key), rule.length, rule.prefix));
    case 'tokenize':
      return memoize(tokenize(need(key), rule.keep_last));
    case 'generalize':
      return generalize(rule.to, rule.size);
  }
}

const MEMO_LIMIT = 65_536;

/**
 * Remembers the results of a deterministic action for text and integer values: a key appears
 * in the key row and the after row of every change, and foreign keys repeat across rows.
 * Bounded: the memo is emptied when full.
 */
function memoize(action: ValueAction): ValueAction {
  let memo = new Map<string, Value>();
  return (v, ctx) => {
    const t = typeof v;
    if (t !== 'string' && t !== 'number' && t !== 'bigint') return action(v, ctx);
    const k = (t === 'string' ? 's' : t === 'number' ? 'n' : 'b') + String(v);
    const hit = memo.get(k);
    if (hit !== undefined) return hit;
    const out = action(v, ctx) as Value;
    if (memo.size >= MEMO_LIMIT) memo = new Map();
    memo.set(k, out);
    return out;
  };
}

function need(key: Buffer | undefined): Buffer {
  if (key === undefined) throw new Error('internal: keyed anonymize action built without a key');
  return key;
}

function maskKeepLast(first: number, last: number, ch: string): ValueAction {
  return (v) => {
    if (v === null) return null;
    const s = [...canonicalText(v)];
    // Never reveal the whole value: short values are masked entirely.
    if (first + last >= s.length) return ch.repeat(s.length);
    return s.map((c, i) => (i < first || i >= s.length - last ? c : ch)).join('');
  };
}

function maskEmail(ch: string): ValueAction {
  return (v) => {
    if (v === null) return null;
    const s = canonicalText(v);
    const at = s.lastIndexOf('@');
    if (at < 0) return ch.repeat([...s].length);
    return ch.repeat(Math.max(1, [...s.slice(0, at)].length)) + s.slice(at);
  };
}

function pseudonymize(key: Buffer, length: number, prefix: string): ValueAction {
  const ints = new IntegerPseudonymizer(key);
  return (v) => {
    if (v === null) return null;
    if (typeof v === 'number' && Number.isSafeInteger(v)) return ints.mapNumber(v);
    if (typeof v === 'bigint') {
      const m = ints.map(v);
      if (m !== undefined) return m;
    }
    // An integral numeric key stays an integral numeric (same permutation as the integers, so
    // it still joins an int8 column holding the same value).
    if (v instanceof Decimal && /^-?\d+$/.test(v.text)) {
      const m = ints.map(BigInt(v.text));
      if (m !== undefined) return new Decimal(m.toString());
    }
    const digest = createHmac('sha256', key).update('hydrant-pseudonym\u0000').update(canonicalText(v)).digest('hex');
    // A UUID stays a well-formed UUID (uuid columns keep their type), version 4 layout.
    if (typeof v === 'string' && UUID_RE.test(v)) return `${digest.slice(0, 8)}-${digest.slice(8, 12)}-4${digest.slice(13, 16)}-${'89ab'[parseInt(digest[16] as string, 16) % 4]}${digest.slice(17, 20)}-${digest.slice(20, 32)}`;
    return prefix + digest.slice(0, length);
  };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const DIGITS = '0123456789';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = LOWER.toUpperCase();

function tokenize(key: Buffer, keepLast: number): ValueAction {
  return (v) => {
    if (v === null) return null;
    const s = [...canonicalText(v)];
    const keepFrom = Math.max(0, s.length - keepLast);
    // One keystream per value: the same value always gets the same token, and two values
    // sharing a prefix do not share their token's prefix.
    let stream = Buffer.alloc(0);
    let counter = 0;
    let pos = 0;
    const nextByte = (): number => {
      if (pos >= stream.length) {
        stream = createHmac('sha256', key).update(`hydrant-token\u0000${counter++}\u0000`).update(s.join('')).digest();
        pos = 0;
      }
      return stream[pos++] as number;
    };
    const out = s.map((c, i) => {
      if (i >= keepFrom) return c;
      if (c >= '0' && c <= '9') return DIGITS[nextByte() % 10] as string;
      if (c >= 'a' && c <= 'z') return LOWER[nextByte() % 26] as string;
      if (c >= 'A' && c <= 'Z') return UPPER[nextByte() % 26] as string;
      return c;
    });
    const t = out.join('');
    if (typeof v === 'number' || typeof v === 'bigint') {
      // Keep the type when the token still reads as the same kind of number.
      if (/^-?\d+$/.test(t)) return typeof v === 'bigint' ? BigInt(t) : Number.isSafeInteger(Number(t)) ? Number(t) : t;
    }
    if (v instanceof Decimal && /^-?\d+(\.\d+)?$/.test(t)) return new Decimal(t);
    return t;
  };
}

const MS_PER_DAY = 86_400_000;
const US_PER_DAY = 86_400_000_000n;

function generalize(to: 'month' | 'year' | 'bucket' | 'age', size: number): ValueAction {
  switch (to) {
    case 'month':
    case 'year':
      return (v) => truncateDate(v, to);
    case 'bucket':
      return (v) => bucket(v, size);
    case 'age':
      return (v, ctx) => {
        const days = dayOf(v);
        if (days === undefined) return null;
        const birth = civilFromDays(days);
        const now = civilFromDays(Math.floor(ctx.referenceMillis / MS_PER_DAY));
        let age = now.y - birth.y;
        if (now.m < birth.m || (now.m === birth.m && now.d < birth.d)) age--;
        return Math.floor(age / size) * size;
      };
  }
}

/** Days since the epoch of a date-like value, or undefined when it is not one. */
function dayOf(v: Value): number | undefined {
  if (v instanceof DateValue) return typeof v.days === 'number' ? v.days : undefined;
  if (v instanceof Timestamp) return typeof v.micros === 'bigint' ? Number(v.micros / US_PER_DAY) - (v.micros < 0n && v.micros % US_PER_DAY !== 0n ? 1 : 0) : undefined;
  if (typeof v === 'string') {
    const m = /^(-?\d{4,6})-(\d{2})-(\d{2})/.exec(v);
    if (m !== null) return daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3]));
  }
  return undefined;
}

function truncateDate(v: Value, to: 'month' | 'year'): Value {
  if (v === null) return null;
  const days = dayOf(v);
  // A value that is not a date cannot be generalized safely; null is the safe fallback.
  if (days === undefined) return v instanceof DateValue || v instanceof Timestamp ? v : null;
  const c = civilFromDays(days);
  const first = daysFromCivil(c.y, to === 'year' ? 1 : c.m, 1);
  if (v instanceof DateValue) return new DateValue(first);
  if (v instanceof Timestamp) return new Timestamp(BigInt(first) * US_PER_DAY, v.withTimeZone);
  return to === 'year' ? String(c.y).padStart(4, '0') : `${String(c.y).padStart(4, '0')}-${String(c.m).padStart(2, '0')}`;
}

function bucket(v: Value, size: number): Value {
  if (v === null) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? Math.floor(v / size) * size : v;
  if (typeof v === 'bigint' && Number.isInteger(size)) {
    const s = BigInt(size);
    const q = v / s - (v < 0n && v % s !== 0n ? 1n : 0n);
    return q * s;
  }
  if (v instanceof Decimal) return v.isFinite ? new Decimal(String(Math.floor(Number(v.text) / size) * size)) : v;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)) return String(Math.floor(Number(v) / size) * size);
  return null;
}

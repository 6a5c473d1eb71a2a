/**
 * Record predicates for `filter`: conditions on envelope metadata (`op`, `table`, `schema`,
 * `source`) or column values (`after.x`, `before.x`, or plain `x` = the row the change is
 * about: after, or before for deletes), combined with `all` / `any` / `not`.
 */
import { z } from 'zod';
import type { Envelope } from '../../core/change-event.ts';
import { DateValue, Decimal, Timestamp, type Value } from '../../core/values.ts';
import { canonicalText } from '../common/text.ts';
import { isPlainObject, primaryRow } from '../common/rows.ts';

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const leaf = z.strictObject({
  field: z.string().min(1).describe('`op`, `table`, `schema`, `source`, `after.COLUMN`, `before.COLUMN` or `COLUMN`'),
  equals: scalar.optional().describe('Matches when the field equals this value'),
  not_equals: scalar.optional().describe('Matches when the field differs from this value'),
  in: z.array(scalar).optional().describe('Matches when the field equals one of these values'),
  matches: z.string().optional().describe('Regular expression the field\'s text must match'),
  is_null: z.boolean().optional().describe('true: field is null or missing; false: it has a value'),
  gt: z.union([z.number(), z.string()]).optional().describe('Greater than (numbers numerically, others as text, e.g. ISO dates)'),
  gte: z.union([z.number(), z.string()]).optional().describe('Greater than or equal'),
  lt: z.union([z.number(), z.string()]).optional().describe('Less than'),
  lte: z.union([z.number(), z.string()]).optional().describe('Less than or equal'),
});

/** A condition tree. */
export type Condition = z.output<typeof leaf> | { all: Condition[] } | { any: Condition[] } | { not: Condition };

export const condition: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.strictObject({ all: z.array(condition).min(1).describe('Every condition matches') }),
    z.strictObject({ any: z.array(condition).min(1).describe('At least one condition matches') }),
    z.strictObject({ not: condition.describe('The condition does not match') }),
    leaf,
  ]),
);

/** A compiled predicate. */
export type Predicate = (e: Envelope) => boolean;

/** Compiles a condition. Throws on an invalid regular expression (the config validator reports it). */
export function compileCondition(c: Condition): Predicate {
  if ('all' in c) {
    const ps = c.all.map(compileCondition);
    return (e) => ps.every((p) => p(e));
  }
  if ('any' in c) {
    const ps = c.any.map(compileCondition);
    return (e) => ps.some((p) => p(e));
  }
  if ('not' in c) {
    const p = compileCondition(c.not);
    return (e) => !p(e);
  }
  const get = accessor(c.field);
  const tests: Array<(v: Value | undefined) => boolean> = [];
  if (c.equals !== undefined) tests.push((v) => same(v, c.equals ?? null));
  if (c.not_equals !== undefined) tests.push((v) => !same(v, c.not_equals ?? null));
  if (c.in !== undefined) {
    const list = c.in;
    tests.push((v) => list.some((x) => same(v, x)));
  }
  if (c.matches !== undefined) {
    const re = new RegExp(c.matches);
    tests.push((v) => v !== undefined && v !== null && re.test(canonicalText(v)));
  }
  if (c.is_null !== undefined) {
    const want = c.is_null;
    tests.push((v) => (v === undefined || v === null) === want);
  }
  for (const [op, bound] of [['gt', c.gt], ['gte', c.gte], ['lt', c.lt], ['lte', c.lte]] as const) {
    if (bound === undefined) continue;
    tests.push((v) => {
      const r = compare(v, bound);
      if (r === undefined) return false;
      return op === 'gt' ? r > 0 : op === 'gte' ? r >= 0 : op === 'lt' ? r < 0 : r <= 0;
    });
  }
  return (e) => {
    const v = get(e);
    return tests.every((t) => t(v));
  };
}

function accessor(field: string): (e: Envelope) => Value | undefined {
  switch (field) {
    case 'op':
      return (e) => e.op;
    case 'source':
      return (e) => e.source.name;
    case 'table':
      return (e) => (e.op === 'event' ? e.source.name : e.source.table);
    case 'schema':
      return (e) => (e.op === 'event' ? null : e.source.schema);
  }
  const dot = field.indexOf('.');
  const role = dot < 0 ? '' : field.slice(0, dot);
  if (role === 'after' || role === 'before') {
    const col = field.slice(dot + 1);
    return (e) => {
      if (e.op === 'event') return role === 'after' && isPlainObject(e.data) ? e.data[col] : undefined;
      return e[role]?.[col];
    };
  }
  return (e) => primaryRow(e)?.[field];
}

function same(v: Value | undefined, x: string | number | boolean | null): boolean {
  if (v === undefined || v === null) return x === null;
  if (x === null) return false;
  return canonicalText(v) === String(x);
}

function numeric(v: Value): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Decimal) return Number(v.text);
  return undefined;
}

function compare(v: Value | undefined, bound: number | string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof bound === 'number') {
    const n = numeric(v) ?? (typeof v === 'string' && v.trim() !== '' ? Number(v) : undefined);
    return n === undefined || Number.isNaN(n) ? undefined : n - bound;
  }
  const t = v instanceof Timestamp || v instanceof DateValue ? v.toISOString() : canonicalText(v);
  return t < bound ? -1 : t > bound ? 1 : 0;
}

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

/** A condition tree: exactly one of `all`, `any`, `not` or `field` (with its tests). */
export interface Condition {
  readonly all?: readonly Condition[] | undefined;
  readonly any?: readonly Condition[] | undefined;
  readonly not?: Condition | undefined;
  readonly field?: string | undefined;
  readonly equals?: string | number | boolean | null | undefined;
  readonly not_equals?: string | number | boolean | null | undefined;
  readonly in?: ReadonlyArray<string | number | boolean | null> | undefined;
  readonly matches?: string | undefined;
  readonly is_null?: boolean | undefined;
  readonly gt?: number | string | undefined;
  readonly gte?: number | string | undefined;
  readonly lt?: number | string | undefined;
  readonly lte?: number | string | undefined;
}

const TESTS = ['equals', 'not_equals', 'in', 'matches', 'is_null', 'gt', 'gte', 'lt', 'lte'] as const;

// Nested conditions are checked by re-parsing, with the inner issues' paths kept: a recursive
// schema would make the generated docs list every nesting of every key.
const nested = z
  .unknown()
  .superRefine((v, ctx) => {
    const r = condition.safeParse(v);
    if (!r.success) for (const i of r.error.issues) ctx.addIssue({ code: 'custom', message: i.message, path: i.path, input: v });
  })
  .transform((v) => condition.parse(v));

/** The config schema of a condition. */
export const condition: z.ZodType<Condition> = z
  .strictObject({
    all: z.array(nested).min(1).optional().describe('Every condition of the list matches (each condition has the keys of this table)'),
    any: z.array(nested).min(1).optional().describe('At least one condition of the list matches'),
    not: nested.optional().describe('The condition does not match'),
    field: z.string().min(1).optional().describe('`op`, `table`, `schema`, `source`, `after.COLUMN`, `before.COLUMN` or `COLUMN`; then one or more tests below'),
    equals: scalar.optional().describe('Matches when the field equals this value'),
    not_equals: scalar.optional().describe('Matches when the field differs from this value'),
    in: z.array(scalar).optional().describe('Matches when the field equals one of these values'),
    matches: z.string().optional().describe("Regular expression the field's text must match"),
    is_null: z.boolean().optional().describe('true: field is null or missing; false: it has a value'),
    gt: z.union([z.number(), z.string()]).optional().describe('Greater than (numbers numerically, others as text, e.g. ISO dates)'),
    gte: z.union([z.number(), z.string()]).optional().describe('Greater than or equal'),
    lt: z.union([z.number(), z.string()]).optional().describe('Less than'),
    lte: z.union([z.number(), z.string()]).optional().describe('Less than or equal'),
  })
  .superRefine((c, ctx) => {
    const forms = (['all', 'any', 'not', 'field'] as const).filter((k) => c[k] !== undefined);
    const tests = TESTS.filter((k) => c[k] !== undefined);
    if (forms.length !== 1) ctx.addIssue({ code: 'custom', message: `a condition has exactly one of all, any, not or field; found ${forms.length === 0 ? 'none' : forms.join(', ')}`, input: c });
    else if (forms[0] === 'field' && tests.length === 0) ctx.addIssue({ code: 'custom', path: ['field'], message: `give at least one test for field ${JSON.stringify(c.field)}: ${TESTS.join(', ')}`, input: c });
    else if (forms[0] !== 'field' && tests.length > 0) ctx.addIssue({ code: 'custom', path: [tests[0] as string], message: `${tests[0]} needs a field; inside \`${forms[0]}\` put it in a condition of its own`, input: c });
    if (c.matches !== undefined) {
      try {
        new RegExp(c.matches);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['matches'], message: `invalid regular expression: ${(err as Error).message}`, input: c });
      }
    }
  });

/** A compiled predicate. */
export type Predicate = (e: Envelope) => boolean;

/** Compiles a validated condition. */
export function compileCondition(c: Condition): Predicate {
  if (c.all !== undefined) {
    const ps = c.all.map(compileCondition);
    return (e) => ps.every((p) => p(e));
  }
  if (c.any !== undefined) {
    const ps = c.any.map(compileCondition);
    return (e) => ps.some((p) => p(e));
  }
  if (c.not !== undefined) {
    const p = compileCondition(c.not);
    return (e) => !p(e);
  }
  const get = accessor(c.field ?? '');
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

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Decimal, Timestamp } from '../../../src/core/values.ts';
import { filter } from '../../../src/transforms/filter/filter.ts';
import { change, context, items, logEvent } from '../support.ts';

async function kept(cfg: unknown, evs: Parameters<typeof items>): Promise<string[]> {
  const t = await filter.create(filter.config.parse(cfg), context());
  return (await t.apply(items(...evs))).items.map((i) => i.id);
}

test('filter drops by op, table and column values', async () => {
  const evs: Parameters<typeof items> = [
    change('orders', { id: 1, status: 'test', total: new Decimal('10.50') }),
    change('orders', { id: 2, status: 'paid', total: 250n }),
    change('orders', null, { op: 'delete', key: { id: 3 }, before: { id: 3, status: 'test' } }),
    change('customers', { id: 4, email: null, created: Timestamp.fromMillis(Date.UTC(2020, 0, 1)) }),
    logEvent({ level: 'debug' }),
  ];
  assert.deepEqual(await kept({ drop_when: { field: 'status', equals: 'test' } }, evs), ['1', '3', '4'], 'plain column is after, or before for deletes');
  assert.deepEqual(await kept({ drop_when: { field: 'op', equals: 'delete' } }, evs), ['0', '1', '3', '4']);
  assert.deepEqual(await kept({ drop_when: { all: [{ field: 'table', equals: 'orders' }, { field: 'total', lt: 100 }] } }, evs), ['1', '2', '3', '4']);
  assert.deepEqual(await kept({ keep_when: { any: [{ field: 'total', gte: 250 }, { field: 'level', in: ['debug', 'info'] }] } }, evs), ['1', '4']);
  assert.deepEqual(await kept({ drop_when: { field: 'email', is_null: true } }, evs), [], 'missing and null are both null');
  assert.deepEqual(await kept({ drop_when: { field: 'status', is_null: false } }, evs), ['3', '4']);
  assert.deepEqual(await kept({ drop_when: { field: 'created', lt: '2021-01-01' } }, evs), ['0', '1', '2', '4'], 'timestamps compare as ISO text');
  assert.deepEqual(await kept({ drop_when: { not: { field: 'status', matches: '^pa' } } }, evs), ['1']);
  assert.deepEqual(await kept({ drop_when: { field: 'before.status', equals: 'test' } }, evs), ['0', '1', '3', '4']);
});

test('filter config needs exactly one predicate and a valid regex', () => {
  assert.equal(filter.config.safeParse({}).success, false);
  assert.equal(filter.config.safeParse({ drop_when: { field: 'a', equals: 1 }, keep_when: { field: 'a', equals: 1 } }).success, false);
  const bad = filter.config.safeParse({ drop_when: { field: 'a', matches: '(' } });
  assert.equal(bad.success, false);
  assert.deepEqual(bad.error?.issues.map((i) => i.path.join('.')), ['drop_when.matches']);
  assert.match(JSON.stringify(bad.error?.issues), /invalid regular expression/);
  const nested = filter.config.safeParse({ drop_when: { any: [{ field: 'a', equals: 1 }, { all: [{ field: 'b', bogus: 2 }] }] } });
  const unknownKey = nested.error?.issues.find((i) => /bogus/.test(i.message));
  assert.equal(unknownKey?.path.join('.'), 'drop_when.any.1.all.0', 'nested problems keep their path');
  const messages = (cfg: unknown): string => (filter.config.safeParse(cfg).error?.issues ?? []).map((i) => i.message).join('\n');
  assert.match(messages({ drop_when: { field: 'a' } }), /at least one test for field "a"/);
  assert.match(messages({ drop_when: { all: [{ field: 'a', equals: 1 }], equals: 2 } }), /equals needs a field/);
  assert.match(messages({ drop_when: { any: [{ field: 'a', equals: 1 }], not: { field: 'b', equals: 1 } } }), /exactly one of all, any, not or field; found any, not/);
});

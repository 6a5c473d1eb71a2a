import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeEvent, LogEvent } from '../../../src/core/change-event.ts';
import { select } from '../../../src/transforms/select/select.ts';
import { change, context, items, logEvent } from '../support.ts';

test('select includes and excludes tables and columns; keys are kept', async () => {
  const t = await select.create(
    select.config.parse({
      include: ['public.*', 'web'],
      exclude: ['audit_*'],
      columns: [
        { tables: ['customers'], exclude: ['notes', 'id'] },
        { tables: ['web'], include: ['path'] },
      ],
    }),
    context(),
  );
  const r = await t.apply(
    items(
      change('customers', { id: 1, name: 'A', notes: 'n' }, { op: 'update', before: { id: 1, name: 'B', notes: 'm' }, unchanged: ['notes', 'bio'] }),
      change('audit_log', { id: 2 }),
      change('orders', { id: 3, total: 5 }),
      change('other', { id: 4 }, { schema: 'private' }),
      logEvent({ path: '/a', ip: '1.2.3.4' }),
    ),
  );
  assert.equal(r.items.length, 3);
  const c = r.items[0]?.envelope as ChangeEvent;
  assert.deepEqual(c.after, { id: 1, name: 'A' }, 'key columns are never removed');
  assert.deepEqual(c.before, { id: 1, name: 'B' });
  assert.deepEqual(c.key, { id: 1 });
  assert.deepEqual(c.unchanged, ['bio']);
  assert.deepEqual((r.items[1]?.envelope as ChangeEvent).after, { id: 3, total: 5 });
  assert.deepEqual((r.items[2]?.envelope as LogEvent).data, { path: '/a' });
  assert.deepEqual(r.items.map((i) => i.id), ['0', '2', '4'], 'item ids are kept');
});

test('select config rejects unknown keys', () => {
  assert.equal(select.config.safeParse({ include: ['*'], bogus: 1 }).success, false);
  assert.deepEqual(select.config.parse({}), { include: ['*'], exclude: [], columns: [] });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeEvent } from '../../../src/core/change-event.ts';
import { rename } from '../../../src/transforms/rename/rename.ts';
import { change, context, items } from '../support.ts';

test('rename renames tables, schemas and columns in key, before, after and unchanged', async () => {
  const t = await rename.create(
    rename.config.parse({
      tables: [{ from: 'public.customers', to: 'clients', schema: 'crm' }, { from: 'orders', to: 'sales' }],
      columns: [{ tables: ['customers'], from: 'ID', to: 'client_id' }, { from: 'name', to: 'full_name' }],
    }),
    context(),
  );
  const r = await t.apply(items(change('customers', { id: 1, name: 'A' }, { op: 'update', before: { id: 1, name: 'B' }, unchanged: ['name'] }), change('orders', { id: 2, name: 'x' })));
  const c = r.items[0]?.envelope as ChangeEvent;
  assert.equal(c.source.schema, 'crm');
  assert.equal(c.source.table, 'clients');
  assert.deepEqual(c.key, { client_id: 1 });
  assert.deepEqual(c.after, { client_id: 1, full_name: 'A' });
  assert.deepEqual(c.before, { client_id: 1, full_name: 'B' });
  assert.deepEqual(c.unchanged, ['full_name']);
  const o = r.items[1]?.envelope as ChangeEvent;
  assert.equal(o.source.schema, 'public');
  assert.equal(o.source.table, 'sales');
  assert.deepEqual(o.after, { id: 2, full_name: 'x' }, 'column rename of another table does not apply');
});

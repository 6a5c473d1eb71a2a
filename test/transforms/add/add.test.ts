import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeEvent, LogEvent } from '../../../src/core/change-event.ts';
import { Timestamp } from '../../../src/core/values.ts';
import { add } from '../../../src/transforms/add/add.ts';
import { COMMIT_MS, change, context, items, logEvent } from '../support.ts';

test('add writes record type, op code, ingestion time, source name and constants', async () => {
  const t = await add.create(
    add.config.parse({
      columns: [
        { name: 'record_type', value: 'record_type' },
        { name: 'Op', value: 'op_code' },
        { name: 'ingested_at', value: 'ingestion_time' },
        { name: 'src', value: 'source_name' },
        { name: 'tbl', value: 'table_name' },
        { tables: ['orders'], name: 'env', value: 'constant', constant: 'prod' },
      ],
    }),
    context(),
  );
  const r = await t.apply(items(change('orders', { id: 1 }), change('orders', null, { op: 'delete', key: { id: 1 }, before: { id: 1 } }), logEvent({ a: 1 })));
  const ins = r.items[0]?.envelope as ChangeEvent;
  assert.equal(ins.after?.['record_type'], 'insert');
  assert.equal(ins.after?.['Op'], 'I');
  assert.ok(ins.after?.['ingested_at'] instanceof Timestamp);
  assert.equal((ins.after?.['ingested_at'] as Timestamp).toMillis(), COMMIT_MS + 1000);
  assert.equal(ins.after?.['src'], 'shop');
  assert.equal(ins.after?.['tbl'], 'orders');
  assert.equal(ins.after?.['env'], 'prod');
  assert.deepEqual(ins.key, { id: 1 }, 'never added to the key');
  const del = r.items[1]?.envelope as ChangeEvent;
  assert.equal(del.after, null);
  assert.equal(del.before?.['Op'], 'D');
  const ev = r.items[2]?.envelope as LogEvent;
  assert.equal((ev.data as Record<string, unknown>)['record_type'], 'event');
  assert.equal((ev.data as Record<string, unknown>)['env'], undefined);
});

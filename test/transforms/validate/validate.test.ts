import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../src/core/errors.ts';
import { Decimal, Timestamp } from '../../../src/core/values.ts';
import type { PutRecord, StreamLog } from '../../../src/stream/stream-log.ts';
import { validate } from '../../../src/transforms/validate/validate.ts';
import { change, context, items, logEvent } from '../support.ts';

const schema = {
  type: 'object',
  required: ['id', 'email'],
  properties: { id: { type: 'integer' }, email: { type: 'string', pattern: '@' }, total: { type: 'number', minimum: 0 }, created: { type: 'string' } },
};

test('valid records go on, invalid ones fail with the validation message and are counted', async () => {
  const ctx = context('check');
  const t = await validate.create(validate.config.parse({ tables: ['customers', 'web'], schema }), ctx);
  const r = await t.apply(
    items(
      change('customers', { id: 9007199254740993n, email: 'a@b.c', total: new Decimal('12.50'), created: Timestamp.fromMillis(0) }),
      change('customers', { id: 2, email: 'nope', total: new Decimal('-1') }),
      change('orders', { id: 3 }),
      change('customers', null, { op: 'delete', key: { id: 4 }, before: { id: 4 } }),
      logEvent({ id: 5, email: 'x@y' }),
    ),
  );
  assert.deepEqual(r.items.map((i) => i.id), ['0', '2', '4'], 'unmatched tables pass unchecked; bigint and decimal validate as numbers');
  assert.deepEqual(r.failed.map((f) => f.item.id), ['1', '3']);
  assert.match(r.failed[0]?.reason ?? '', /validate check: public\.customers record at position \d+ is invalid: \/email: must match pattern "@"; \/total: must be >= 0/);
  assert.match(r.failed[1]?.reason ?? '', /\(root\): must have required property 'email'/, 'a delete validates its before row');
  assert.equal(ctx.metrics.get('hydrant_transform_invalid_records_total', { transform: 'check' }), 2);
  assert.equal(ctx.metrics.get('hydrant_transform_valid_records_total', { transform: 'check' }), 3);
});

test('on_invalid: stream appends invalid records to the error stream instead', async () => {
  const appended: Array<{ stream: string; records: readonly PutRecord[] }> = [];
  const ensured: string[] = [];
  // A recording StreamLog: only the two calls validate makes.
  const log = {
    ensureStream: async (name: string) => {
      ensured.push(name);
      return { name, shards: [], createdAt: 0 };
    },
    append: async (stream: string, records: readonly PutRecord[]) => {
      appended.push({ stream, records });
      return records.map(() => ({ shardId: 's', sequence: '1' }));
    },
  } as unknown as StreamLog;
  const t = await validate.create(validate.config.parse({ schema, on_invalid: 'stream', error_stream: 'bad' }), { ...context('v'), log });
  const r = await t.apply(items(change('c', { id: 1, email: 'a@b' }), change('c', { id: 'x', email: 'a@b' })));
  assert.equal(r.items.length, 1);
  assert.equal(r.failed.length, 0);
  assert.deepEqual(ensured, ['bad']);
  assert.equal(appended[0]?.stream, 'bad');
  const rec = JSON.parse(Buffer.from(appended[0]?.records[0]?.data ?? []).toString()) as { reason: string; envelope: { after: { id: string } } };
  assert.match(rec.reason, /\/id: must be integer/);
  assert.equal(rec.envelope.after.id, 'x');
});

test('config: one of schema or schema_file, error_stream with stream, invalid schemas rejected clearly', async () => {
  assert.equal(validate.config.safeParse({}).success, false);
  assert.equal(validate.config.safeParse({ schema, on_invalid: 'stream' }).success, false);
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-validate-'));
  try {
    const f = join(dir, 's.json');
    writeFileSync(f, JSON.stringify({ type: 'object', properties: { n: { type: 'integer' } } }));
    const t = await validate.create(validate.config.parse({ schema_file: f }), context());
    assert.equal((await t.apply(items(change('c', { id: 1, n: 1.5 })))).failed.length, 1);
    await assert.rejects(async () => validate.create(validate.config.parse({ schema_file: join(dir, 'missing.json') }), context('v2')), (e: unknown) => e instanceof ConfigError && /missing\.json.*schema_file: cannot read/.test(e.message));
    await assert.rejects(async () => validate.create(validate.config.parse({ schema: { type: 'nonsense' } }), context('v3')), (e: unknown) => e instanceof ConfigError && /invalid JSON Schema/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { ChangeEvent, LogEvent } from '../../../src/core/change-event.ts';
import { ConfigError } from '../../../src/core/errors.ts';
import { functionTransform as fn } from '../../../src/transforms/function/function.ts';
import type { Transform } from '../../../src/transforms/transform.ts';
import { change, context, items } from '../support.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

async function withFn(cfg: Record<string, unknown>, body: (t: Transform, ctx: ReturnType<typeof context>) => Promise<void>): Promise<void> {
  const ctx = context('fn');
  const t = await fn.create(fn.config.parse({ retry_backoff: 1, ...cfg }), ctx);
  try {
    await body(t, ctx);
  } finally {
    await t.close();
  }
}

test('a TypeScript function: Ok with new data and partition keys, Dropped, ProcessingFailed, plain JSON output', async () => {
  await withFn({ module: fixture('enrich.ts'), batch_size: 2, concurrency: 2 }, async (t, ctx) => {
    const r = await t.apply(
      items(
        change('orders', { id: 1, total: 5n }),
        change('orders', null, { op: 'delete', key: { id: 2 }, before: { id: 2 } }),
        change('orders', { id: 3, bad: true }),
        change('customers', { id: 4, plain: true }),
        change('customers', { id: 5 }),
      ),
    );
    assert.deepEqual(r.items.map((i) => i.id), ['0', '3', '4'], 'order kept across concurrent chunks');
    const first = r.items[0]?.envelope as ChangeEvent;
    assert.deepEqual(first.after, { id: 1, total: 5n, enriched_by: 'ts', invocation: true }, 'lossless values survive the round trip');
    assert.deepEqual(r.items[0]?.partitionKeys, { table: 'orders' });
    const plain = r.items[1]?.envelope as LogEvent;
    assert.equal(plain.op, 'event');
    assert.deepEqual(plain.data, { table: 'customers', at: r.items[1]?.arrivalTime });
    assert.equal(plain.source.name, 'shop');
    assert.equal(r.failed.length, 1);
    assert.equal(r.failed[0]?.item.id, '2');
    assert.equal(r.failed[0]?.attempts, 1);
    assert.match(r.failed[0]?.reason ?? '', /returned ProcessingFailed/);
    assert.equal(ctx.metrics.get('hydrant_function_invocations_total', { transform: 'fn' }), 3);
  });
});

test('a function stuck in a synchronous loop is terminated at the timeout, retried, then processing-failed; the pool recovers', async () => {
  await withFn({ module: fixture('behaviours.mjs'), export: 'default', timeout: '300ms', retries: 1 }, async (t, ctx) => {
    const r = await t.apply(items(change('t', { id: 1, mode: 'loop' }), change('t', { id: 2 })));
    assert.equal(r.items.length, 0);
    assert.equal(r.failed.length, 2);
    assert.equal(r.failed[0]?.attempts, 2);
    assert.match(r.failed[0]?.reason ?? '', /invocation failed after 2 attempt\(s\): the function did not answer within 300 ms; its worker was terminated/);
    assert.equal(ctx.metrics.get('hydrant_function_timeouts_total', { transform: 'fn' }), 2);
    const ok = await t.apply(items(change('t', { id: 3 })));
    assert.equal(ok.items.length, 1, 'a fresh worker replaces the terminated one');
  });
});

test('a throwing function is retried, then its records go to processing-failed with attempts and the error', async () => {
  await withFn({ module: fixture('behaviours.mjs'), export: 'default', retries: 2 }, async (t, ctx) => {
    const r = await t.apply(items(change('t', { id: 1, mode: 'throw' })));
    assert.equal(r.failed.length, 1);
    assert.equal(r.failed[0]?.attempts, 3);
    assert.match(r.failed[0]?.reason ?? '', /after 3 attempt\(s\): the function threw: Error: boom from the function/);
    assert.equal(ctx.metrics.get('hydrant_function_invocation_errors_total', { transform: 'fn' }), 3);
    assert.equal(ctx.lines.filter((l) => l.includes('function invocation failed')).length, 3);
  });
});

test('wrong, missing or duplicate recordIds and malformed responses are reported clearly', async () => {
  await withFn({ module: fixture('behaviours.mjs'), export: 'default', retries: 0 }, async (t) => {
    const two = (mode: string) => items(change('t', { id: 1, mode }), change('t', { id: 2 }));
    const wrong = await t.apply(two('wrong-ids'));
    assert.match(wrong.failed[0]?.reason ?? '', /does not match its input \(2 records returned for 2\): recordIds not in the batch: "not-a-real-id"; recordIds missing from the response: "0"; return exactly one record per input recordId/);
    const missing = await t.apply(two('missing'));
    assert.match(missing.failed[0]?.reason ?? '', /recordIds missing from the response: "0"/);
    assert.match((await t.apply(two('shape'))).failed[0]?.reason ?? '', /must return \{ records: \[\.\.\.\] \}, it returned a string/);
    assert.match((await t.apply(two('bad-result'))).failed[0]?.reason ?? '', /result must be Ok, Dropped or ProcessingFailed, found "Maybe"/);
    const badData = await t.apply(two('bad-data'));
    assert.equal(badData.failed.length, 2);
    assert.match(badData.failed[0]?.reason ?? '', /not base64 of a JSON document/);
  });
});

test('a module that does not exist or lacks the export fails at startup with a config error', async () => {
  await assert.rejects(async () => fn.create(fn.config.parse({ module: fixture('nope.mjs') }), context('f1')), (e: unknown) => e instanceof ConfigError && /does not exist/.test(e.message));
  await assert.rejects(async () => fn.create(fn.config.parse({ module: fixture('broken.mjs') }), context('f2')), (e: unknown) => e instanceof ConfigError && /no exported function "handler" \(exports: notAFunction\)/.test(e.message));
});

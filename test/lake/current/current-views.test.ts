import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSchema } from '../../../src/core/schema.ts';
import { Decimal } from '../../../src/core/values.ts';
import { MemoryStateStore } from '../../../src/state/memory-state-store.ts';
import { registerCurrentStateViews } from '../../../src/lake/current/current-views.ts';
import { openFixture, putSchema } from './fixture.ts';
import { Workload, workloadSchema as schema } from './workload.ts';

test('query views: the current state under source.schema.table and the plain table name', async (t) => {
  const state = new MemoryStateStore();
  await putSchema(state, schema);
  const fx = await openFixture(state);
  t.after(() => fx.close());
  const table = { source: schema.source, schema: schema.schema, table: schema.table };
  const w = new Workload({ seed: 21, truncateRate: 0, resnapshotRate: 0 });
  for (let i = 0; i < 3; i++) await fx.engine.merge({ table, events: w.next(300), checkpoint: i, schema: (v) => loadSchema(state, table, v) });
  const { names, release } = await registerCurrentStateViews(fx.engine.connection, state, fx.lake, fx.dir);
  t.after(release);
  assert.deepEqual(names, ['gen.public.accounts', 'accounts']);
  const r = await fx.engine.connection.runAndReadAll(`SELECT count(*)::VARCHAR, sum(amount::DECIMAL(38,2))::VARCHAR FROM accounts`);
  const [count, sum] = r.getRows()[0] as [string, string];
  assert.equal(count, String(w.truth.size));
  let cents = 0n;
  for (const row of w.truth.values()) if (row['amount'] instanceof Decimal) cents += BigInt((row['amount'] as Decimal).text.replace('.', ''));
  const neg = cents < 0n;
  const abs = (neg ? -cents : cents).toString().padStart(3, '0');
  assert.equal(sum, `${neg ? '-' : ''}${abs.slice(0, -2)}.${abs.slice(-2)}`);
  const same = await fx.engine.connection.runAndReadAll(`SELECT count(*) FROM "gen.public.accounts"`);
  assert.equal(String(same.getRows()[0]![0]), count);
  // An engine that knows nothing of the state store: latest.json in the lake, then its files.
  const latest = JSON.parse(Buffer.from(await fx.lake.get('databases/gen/public/accounts/current/metadata/latest.json')).toString('utf8')) as { version: number; files: Array<{ key: string }> };
  assert.equal(latest.version, 3);
  const plain = await fx.engine.connection.runAndReadAll(`SELECT count(*) FROM read_parquet([${latest.files.map((f) => `'${fx.lake.pathOf(f.key)}'`).join(', ')}])`);
  assert.equal(String(plain.getRows()[0]![0]), count);
});

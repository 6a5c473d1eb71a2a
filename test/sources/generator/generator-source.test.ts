import { test } from 'node:test';
import assert from 'node:assert/strict';
import { envelopeToJson, type ChangeEvent } from '../../../src/core/change-event.ts';
import { Decimal } from '../../../src/core/values.ts';
import { generatorSource, GeneratorSource, type GeneratorConfig } from '../../../src/sources/generator/generator-source.ts';
import type { SourceBatch } from '../../../src/sources/source.ts';

const SEED = 4242;
console.log(`generator test seed=${SEED}`);

function cfg(over: Partial<GeneratorConfig> = {}): GeneratorConfig {
  return generatorSource.config.parse({ seed: SEED, count: 3000, batch_size: 256, ...over }) as GeneratorConfig;
}

async function drain(src: GeneratorSource): Promise<{ events: ChangeEvent[]; batches: SourceBatch[] }> {
  const ac = new AbortController();
  const events: ChangeEvent[] = [];
  const batches: SourceBatch[] = [];
  for (;;) {
    const b = await src.next(ac.signal);
    batches.push(b);
    events.push(...(b.events as ChangeEvent[]));
    if (b.events.length === 0 && b.caughtUp) return { events, batches };
  }
}

test('same seed gives identical events; positions are fixed-width and strictly increasing', async () => {
  const a = new GeneratorSource('gen', cfg());
  const b = new GeneratorSource('gen', cfg());
  await a.start(null);
  await b.start(null);
  const ea = (await drain(a)).events;
  const eb = (await drain(b)).events;
  assert.equal(ea.length, 3000);
  assert.deepEqual(ea.map(envelopeToJson), eb.map(envelopeToJson));
  for (let i = 0; i < ea.length; i++) {
    assert.equal(ea[i]!.source.position, String(i + 1).padStart(16, '0'));
    if (i > 0) assert.ok(ea[i]!.source.position > ea[i - 1]!.source.position);
  }
  const other = new GeneratorSource('gen', cfg({ seed: SEED + 1 }));
  await other.start(null);
  assert.notDeepEqual((await drain(other)).events.map(envelopeToJson), ea.map(envelopeToJson));
});

test('resuming after position P yields exactly the events after P', async () => {
  const full = new GeneratorSource('gen', cfg());
  await full.start(null);
  const all = (await drain(full)).events.map(envelopeToJson);
  for (const p of [1, 255, 256, 1234, 2999, 3000]) {
    const s = new GeneratorSource('gen', cfg());
    await s.start(String(p).padStart(16, '0'));
    assert.deepEqual((await drain(s)).events.map(envelopeToJson), all.slice(p), `resume after ${p}`);
  }
  await assert.rejects(new GeneratorSource('gen', cfg()).start('abc'), /SOURCE_POSITION_INVALID|expected 16 digits/);
});

test('workload has all tables and ops in believable proportions, realistic values, exact decimals', async () => {
  const s = new GeneratorSource('shop', cfg({ count: 5000 }));
  await s.start(null);
  const { events, batches } = await drain(s);
  assert.equal(batches[0]!.schemas?.length, 4, 'first batch carries the four table schemas');
  assert.equal(batches[1]!.schemas, undefined);
  const count = new Map<string, number>();
  for (const e of events) count.set(`${e.source.table}.${e.op}`, (count.get(`${e.source.table}.${e.op}`) ?? 0) + 1);
  for (const k of ['customers.insert', 'customers.update', 'customers.delete', 'products.insert', 'products.update', 'orders.insert', 'orders.update', 'orders.delete', 'order_items.insert', 'order_items.delete']) {
    assert.ok((count.get(k) ?? 0) > 0, `${k} occurs`);
  }
  const inserts = [...count].filter(([k]) => k.endsWith('.insert')).reduce((a, [, n]) => a + n, 0);
  const updates = [...count].filter(([k]) => k.endsWith('.update')).reduce((a, [, n]) => a + n, 0);
  const deletes = [...count].filter(([k]) => k.endsWith('.delete')).reduce((a, [, n]) => a + n, 0);
  assert.ok(inserts > deletes * 5 && updates > deletes * 5, `inserts ${inserts} updates ${updates} deletes ${deletes}`);
  const customer = events.find((e) => e.source.table === 'customers' && e.op === 'insert')!.after!;
  assert.match(customer['name'] as string, /^[A-Z][a-z]+ [A-Z][a-z]+$/);
  assert.match(customer['email'] as string, /^[a-z._0-9]+@[a-z]+\.[a-z]+$/);
  for (const e of events) {
    if (e.source.table === 'orders' && e.after !== null) assert.ok(e.after['total'] instanceof Decimal && /^\d+\.\d\d$/.test((e.after['total'] as Decimal).text));
    if (e.op === 'update' || e.op === 'delete') assert.notEqual(e.before, null);
    assert.equal(typeof e.key['id'], 'bigint');
  }
  // Orders and their items share a transaction id.
  const firstOrder = events.find((e) => e.source.table === 'orders' && e.op === 'insert')!;
  assert.ok(events.some((e) => e.source.table === 'order_items' && e.source.txId === firstOrder.source.txId));
});

test('rate never lets more events out than rate x elapsed time', async () => {
  const s = new GeneratorSource('gen', cfg({ count: 0, rate: 5000, batch_size: 1000 }));
  const t0 = Date.now();
  await s.start(null);
  const ac = new AbortController();
  let n = 0;
  for (let i = 0; i < 5; i++) n += (await s.next(ac.signal)).events.length;
  // An upper bound that holds on any machine speed: the pacing admits floor(elapsed * rate).
  assert.ok(n > 0 && n <= Math.floor(((Date.now() - t0) / 1000) * 5000), `${n} events`);
});

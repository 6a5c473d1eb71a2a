import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChangeEvent, LogEvent } from '../../../src/core/change-event.ts';
import { DateValue, Decimal, Timestamp, daysFromCivil, type Row } from '../../../src/core/values.ts';
import { schemaKey, type TableSchema } from '../../../src/core/schema.ts';
import { anonymize } from '../../../src/transforms/anonymize/anonymize.ts';
import { Anonymizer, AnonymizeKeyError } from '../../../src/transforms/anonymize/anonymizer.ts';
import { anonymizeConfig, type AnonymizeConfig } from '../../../src/transforms/anonymize/config.ts';
import { loadSecret } from '../../../src/transforms/anonymize/secret.ts';
import { validateRules } from '../../../src/transforms/anonymize/validate-rules.ts';
import { MemoryStateStore } from '../../../src/state/memory-state-store.ts';
import { change, context, items, logEvent } from '../support.ts';

const KEY = Buffer.from('0123456789abcdef-test-key');

function cfg(rules: unknown[], withKey = true): AnonymizeConfig {
  return anonymizeConfig.parse({ ...(withKey ? { key: { env: 'K' } } : {}), rules });
}

async function run(rules: unknown[], ...evs: ChangeEvent[]): Promise<ChangeEvent[]> {
  const a = new Anonymizer(cfg(rules), KEY);
  const r = await a.apply(items(...evs));
  assert.equal(r.failed.length, 0);
  return r.items.map((i) => i.envelope as ChangeEvent);
}

async function after(rules: unknown[], row: Row): Promise<Row> {
  const [e] = await run(rules, change('customers', { id: 1, ...row }));
  return (e as ChangeEvent).after as Row;
}

test('redact writes null or a constant', async () => {
  assert.deepEqual(await after([{ columns: ['name'], action: 'redact' }], { name: 'Ada' }), { id: 1, name: null });
  assert.deepEqual(await after([{ columns: ['name'], action: 'redact', value: 'REDACTED' }], { name: 'Ada' }), { id: 1, name: 'REDACTED' });
});

test('random replaces with a fresh token each time', async () => {
  const a = await after([{ columns: ['name'], action: 'random' }], { name: 'Ada' });
  const b = await after([{ columns: ['name'], action: 'random' }], { name: 'Ada' });
  assert.match(String(a['name']), /^[0-9a-f]{16}$/);
  assert.notEqual(a['name'], b['name']);
});

test('mask keeps the last N characters, or the email domain', async () => {
  assert.deepEqual(await after([{ columns: ['card'], action: 'mask' }], { card: '4111111111111111' }), { id: 1, card: '************1111' });
  assert.deepEqual(await after([{ columns: ['phone'], action: 'mask', keep_first: 2, keep_last: 2, mask_char: '#' }], { phone: '+15551234567' }), { id: 1, phone: '+1########67' });
  assert.deepEqual(await after([{ columns: ['pin'], action: 'mask', keep_last: 4 }], { pin: '123' }), { id: 1, pin: '***' }, 'short values are masked entirely');
  assert.deepEqual(await after([{ columns: ['email'], action: 'mask', mode: 'email_domain' }], { email: 'ada.l@example.com' }), { id: 1, email: '*****@example.com' });
  assert.deepEqual(await after([{ columns: ['email'], action: 'mask', mode: 'email_domain' }], { email: null }), { id: 1, email: null });
});

test('hash is unkeyed SHA-256 of the canonical text', async () => {
  const r = await after([{ columns: ['email'], action: 'hash' }], { email: 'ada@example.com' });
  assert.match(String(r['email']), /^[0-9a-f]{64}$/);
  const { createHash } = await import('node:crypto');
  assert.equal(r['email'], createHash('sha256').update('ada@example.com').digest('hex'));
});

test('pseudonymize is keyed, deterministic across tables and keeps joins', async () => {
  const rules = [{ columns: ['id', 'customer_id', 'email'], action: 'pseudonymize', prefix: 'p_' }];
  const [c, o] = await run(rules, change('customers', { id: 42, email: 'ada@example.com' }), change('orders', { id: 7, customer_id: 42n, email: 'ada@example.com' }));
  const ca = (c as ChangeEvent).after as Row;
  const oa = (o as ChangeEvent).after as Row;
  assert.equal(typeof ca['id'], 'number', 'a number key stays a number');
  assert.notEqual(ca['id'], 42);
  assert.equal(typeof oa['customer_id'], 'bigint', 'a bigint stays a bigint');
  assert.equal(BigInt(ca['id'] as number), oa['customer_id'], 'the same value maps to the same pseudonym in every table');
  assert.equal(ca['email'], oa['email']);
  assert.match(String(ca['email']), /^p_[0-9a-f]{32}$/);
  assert.deepEqual((c as ChangeEvent).key, { id: ca['id'] }, 'the key row is anonymized too');
  const other = new Anonymizer(cfg(rules), Buffer.from('another-key-of-enough-length'));
  const r2 = await other.apply(items(change('customers', { id: 42, email: 'ada@example.com' })));
  assert.notEqual(((r2.items[0]?.envelope as ChangeEvent).after as Row)['email'], ca['email'], 'a different key gives different tokens');
});

test('pseudonymize keeps int32 values in int32, safe integers safe, and never collides', async () => {
  const a = new Anonymizer(cfg([{ columns: ['id'], action: 'pseudonymize' }]), KEY);
  const seen = new Set<number>();
  const evs = [];
  for (let i = 0; i < 3000; i++) evs.push(change('t', { id: i - 1500 }));
  evs.push(change('t', { id: 2 ** 31 - 1 }), change('t', { id: -(2 ** 31) }));
  const r = await a.apply(items(...evs));
  for (const it of r.items) {
    const v = ((it.envelope as ChangeEvent).after as Row)['id'] as number;
    assert.ok(Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31, `int32 stays int32: ${v}`);
    seen.add(v);
  }
  assert.equal(seen.size, evs.length, 'distinct keys stay distinct');
  const big = await a.apply(items(change('t', { id: 2 ** 40 }), change('t', { id: 2n ** 60n }), change('t', { id: 2n ** 70n })));
  const [v1, v2, v3] = big.items.map((i) => ((i.envelope as ChangeEvent).after as Row)['id']);
  assert.ok(typeof v1 === 'number' && Number.isSafeInteger(v1) && Math.abs(v1) >= 2 ** 31, `safe stays safe and outside int32: ${v1}`);
  assert.ok(typeof v2 === 'bigint' && (v2 > 2n ** 53n || v2 < -(2n ** 53n)) && v2 < 2n ** 63n && v2 >= -(2n ** 63n), `int64 stays int64: ${v2}`);
  assert.match(String(v3), /^[0-9a-f]{32}$/, 'beyond int64 becomes a text token');
});

test('pseudonymize keeps UUIDs UUIDs and integral decimals integral, consistent with integers', async () => {
  const r = await after([{ columns: ['ext', 'num', 'plain'], action: 'pseudonymize', prefix: 'x_' }], { ext: '3f2504e0-4f89-11d3-9a0c-0305e82c3301', num: new Decimal('42'), plain: 42n });
  assert.match(String(r['ext']), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.ok(r['num'] instanceof Decimal);
  assert.equal((r['num'] as Decimal).text, String(r['plain']));
});

test('tokenize keeps the format: digits stay digits, letters letters, length and separators kept', async () => {
  const rules = [{ columns: ['phone', 'card', 'code', 'zip'], action: 'tokenize' }, { columns: ['last4'], action: 'tokenize', keep_last: 4 }];
  const r = await after(rules, { phone: '+1 (555) 123-4567', card: 4111111111111111n, code: 'Ab-12', zip: 90210, last4: '4111-1111-1111-1234' });
  assert.match(String(r['phone']), /^\+\d \(\d{3}\) \d{3}-\d{4}$/);
  assert.notEqual(r['phone'], '+1 (555) 123-4567');
  assert.equal(typeof r['card'], 'bigint');
  assert.match(String(r['code']), /^[A-Z][a-z]-\d\d$/);
  assert.equal(typeof r['zip'], 'number');
  assert.match(String(r['last4']), /^\d{4}-\d{4}-\d{4}-1234$/);
  const again = await after(rules, { phone: '+1 (555) 123-4567' });
  assert.equal(again['phone'], r['phone'], 'deterministic');
});

test('generalize dates to month or year, numbers to buckets, birth dates to ages', async () => {
  const birth = new DateValue(daysFromCivil(1990, 8, 20));
  const r = await after(
    [
      { columns: ['birth_month'], action: 'generalize', to: 'month' },
      { columns: ['signup_year', 'iso'], action: 'generalize', to: 'year' },
      { columns: ['salary', 'dec', 'big'], action: 'generalize', to: 'bucket', size: 1000 },
      { columns: ['birth_date'], action: 'generalize', to: 'age' },
      { columns: ['birth_decade'], action: 'generalize', to: 'age', size: 10 },
    ],
    { birth_month: birth, signup_year: Timestamp.fromMillis(Date.UTC(2021, 3, 5, 10)), iso: '1990-08-20', salary: 51234.5, dec: new Decimal('-1500.25'), big: 123456n, birth_date: birth, birth_decade: birth },
  );
  assert.equal((r['birth_month'] as DateValue).toISOString(), '1990-08-01');
  assert.equal((r['signup_year'] as Timestamp).toISOString(), '2021-01-01T00:00:00.000000Z');
  assert.equal(r['iso'], '1990');
  assert.equal(r['salary'], 51000);
  assert.equal((r['dec'] as Decimal).text, '-2000');
  assert.equal(r['big'], 123000n);
  assert.equal(r['birth_date'], 33, 'age at the commit time 2024-06-15 (birthday not yet reached)');
  assert.equal(r['birth_decade'], 30);
});

test('drop removes the column from every row and from unchanged', async () => {
  const [e] = await run([{ columns: ['notes'], action: 'drop' }], change('customers', { id: 1, notes: 'x' }, { op: 'update', before: { id: 1, notes: 'y' }, unchanged: ['notes', 'bio'] }));
  assert.deepEqual(e?.after, { id: 1 });
  assert.deepEqual(e?.before, { id: 1 });
  assert.deepEqual(e?.unchanged, ['bio']);
});

test('rules match tables and columns by pattern, first rule wins, case-insensitively', async () => {
  const rules = [
    { tables: ['public.customers'], columns: ['email'], action: 'redact', value: 'first' },
    { columns: ['*email*'], action: 'redact', value: 'second' },
  ];
  const [c, o] = await run(rules, change('customers', { id: 1, Email: 'a@b.c' }), change('orders', { id: 2, billing_email: 'a@b.c', note: 'keep' }));
  assert.deepEqual(c?.after, { id: 1, Email: 'first' });
  assert.deepEqual(o?.after, { id: 2, billing_email: 'second', note: 'keep' });
});

test('before, after and key are all anonymized; nulls stay null', async () => {
  const [e] = await run(
    [{ columns: ['email'], action: 'pseudonymize' }],
    change('users', { email: 'new@x.io', n: null }, { op: 'update', key: { email: 'old@x.io' }, before: { email: 'old@x.io', n: null } }),
  );
  assert.equal(e?.key['email'], e?.before?.['email']);
  assert.notEqual(e?.key['email'], 'old@x.io');
  assert.notEqual(e?.after?.['email'], 'new@x.io');
  assert.equal(e?.after?.['n'], null);
});

test('log event data fields are anonymized, matched by source name as table', async () => {
  const a = new Anonymizer(cfg([{ tables: ['web'], columns: ['ip'], action: 'mask', keep_last: 0 }]), KEY);
  const r = await a.apply(items(logEvent({ ip: '10.1.2.3', path: '/x' })));
  assert.deepEqual((r.items[0]?.envelope as LogEvent).data, { ip: '********', path: '/x' });
  const k = new Anonymizer(cfg([{ tables: ['web'], columns: ['_key', 'user'], action: 'pseudonymize' }]), KEY);
  const kr = await k.apply(items(logEvent({ user: 'ada@example.com' }, 'ada@example.com'), logEvent({ n: 1 }, null)));
  const ev = kr.items[0]?.envelope as LogEvent;
  assert.match(String(ev.key), /^[0-9a-f]{32}$/, 'the event partition key is anonymized by the `_key` rule');
  assert.equal(ev.key, (ev.data as Record<string, unknown>)['user'], 'and matches the same value in the data');
  assert.equal((kr.items[1]?.envelope as LogEvent).key, null);
});

test('integer pseudonyms: a bijection within each size tier (property test)', async () => {
  const fc = await import('fast-check');
  const { IntegerPseudonymizer } = await import('../../../src/transforms/anonymize/integer-pseudonym.ts');
  const p = new IntegerPseudonymizer(KEY);
  const tier = (x: bigint): number => (x >= -(2n ** 31n) && x < 2n ** 31n ? 0 : x >= -(2n ** 53n - 1n) && x <= 2n ** 53n - 1n ? 1 : 2);
  const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
  const anyTier = fc.oneof(fc.bigInt({ min: -(2n ** 31n), max: 2n ** 31n - 1n }), fc.bigInt({ min: -(2n ** 53n), max: 2n ** 53n }), int64);
  const seed = Number(process.env['HYDRANT_TEST_SEED'] ?? 20241121);
  console.log(`# fast-check seed ${seed}`);
  fc.assert(
    fc.property(anyTier, anyTier, (a, b) => {
      const ma = p.map(a) as bigint;
      const mb = p.map(b) as bigint;
      assert.equal(tier(ma), tier(a), `tier kept for ${a}`);
      assert.equal(ma === mb, a === b, `distinct stay distinct: ${a}, ${b}`);
      assert.equal(p.map(a), ma, 'deterministic');
    }),
    { seed, numRuns: 3000 },
  );
});

test('config rejects a collapsing rule on `id` and keyed rules without a key', () => {
  const r = anonymizeConfig.safeParse({ rules: [{ columns: ['id'], action: 'redact' }] });
  assert.equal(r.success, false);
  assert.match(JSON.stringify(r.error?.issues), /pseudonymize/);
  const k = anonymizeConfig.safeParse({ rules: [{ columns: ['email'], action: 'pseudonymize' }] });
  assert.equal(k.success, false);
  assert.match(JSON.stringify(k.error?.issues), /needs a secret/);
  assert.equal(anonymizeConfig.safeParse({ key: { env: 'K' }, rules: [{ columns: ['email'], action: 'bogus' }] }).success, false);
  assert.equal(anonymizeConfig.safeParse({ key: { env: 'K' }, rules: [{ columns: ['email'], action: 'hash', extra: 1 }] }).success, false, 'unknown keys are rejected');
});

test('validateRules reports collapsing rules on primary keys with the rule that works', () => {
  const t: TableSchema = { source: 'shop', database: 'shop', schema: 'public', table: 'orders', version: 1, columns: [], primaryKey: ['order_no'] };
  const issues = validateRules(cfg([{ columns: ['order_*'], action: 'random' }]), [t], { file: 'p.yaml', path: 'transforms.anon' });
  assert.equal(issues.length, 1);
  assert.equal(issues[0]?.path, 'transforms.anon.rules.0.action');
  assert.match(issues[0]?.message ?? '', /key column "order_no" of public\.orders.*pseudonymize/);
  assert.deepEqual(validateRules(cfg([{ columns: ['order_*'], action: 'pseudonymize' }]), [t], { file: 'p.yaml', path: 'x' }), []);
  assert.deepEqual(validateRules(cfg([{ columns: ['order_no'], action: 'pseudonymize' }, { columns: ['order_*'], action: 'redact' }]), [t], { file: 'p.yaml', path: 'x' }), [], 'the first matching rule decides');
});

test('at runtime a collapsing rule on a key column fails clearly (from the event key and from the schema)', async () => {
  const a = new Anonymizer(cfg([{ columns: ['sku'], action: 'redact' }]), KEY);
  await assert.rejects(a.apply(items(change('items', { sku: 'A1', n: 1 }, { key: { sku: 'A1' } }))), (e: unknown) => e instanceof AnonymizeKeyError && /rules\[0\].*"sku" of public\.items.*pseudonymize/.test(e.message));
  const state = new MemoryStateStore();
  const schema: TableSchema = { source: 'shop', database: 'shop', schema: 'public', table: 'items', version: 1, columns: [], primaryKey: ['sku'] };
  await state.commit([{ type: 'put', key: schemaKey(schema, 1), value: schema as never }]);
  const b = new Anonymizer(cfg([{ columns: ['sku'], action: 'mask' }]), KEY, state);
  // A truncate carries no key row: only the schema tells that sku is the key.
  await assert.rejects(b.apply(items(change('items', { sku: 'A1' }, { key: {} }))), AnonymizeKeyError);
});

test('the descriptor loads the key from env or file and never prints it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-anon-'));
  try {
    const secret = 'super-secret-value-0123456789';
    const lines: string[] = [];
    process.env['HYDRANT_TEST_ANON_KEY'] = secret;
    const t = await anonymize.create(anonymize.config.parse({ key: { env: 'HYDRANT_TEST_ANON_KEY' }, rules: [{ columns: ['email'], action: 'pseudonymize' }] }), context('anon', lines));
    const r = await t.apply(items(change('c', { id: 1, email: 'ada@example.com' })));
    assert.match(String(((r.items[0]?.envelope as ChangeEvent).after as Row)['email']), /^[0-9a-f]{32}$/);
    writeFileSync(join(dir, 'key'), secret + '\n');
    const fromFile = loadSecret({ file: join(dir, 'key') });
    assert.equal(fromFile.toString(), secret, 'trailing newline ignored');
    process.env['HYDRANT_TEST_ANON_KEY'] = 'short';
    const errors: string[] = [];
    for (const where of [{ env: 'HYDRANT_TEST_ANON_KEY' }, { env: 'HYDRANT_TEST_UNSET_KEY' }, { file: join(dir, 'missing') }]) {
      try {
        loadSecret(where);
        assert.fail('expected an error');
      } catch (err) {
        errors.push((err as Error).message + JSON.stringify((err as { details?: unknown }).details ?? null));
      }
    }
    assert.match(errors[0] ?? '', /5 bytes; use at least 16/);
    assert.match(errors[1] ?? '', /HYDRANT_TEST_UNSET_KEY is not set/);
    assert.match(errors[2] ?? '', /cannot read the key file .*ENOENT/);
    for (const text of [...errors, ...lines]) {
      assert.ok(!text.includes(secret) && !text.includes('short'), `no secret in ${text}`);
    }
  } finally {
    delete process.env['HYDRANT_TEST_ANON_KEY'];
    rmSync(dir, { recursive: true, force: true });
  }
});

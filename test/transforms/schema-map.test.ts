import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ColumnType, TableSchema } from '../../src/core/schema.ts';
import { add } from '../../src/transforms/add/add.ts';
import { Anonymizer, AnonymizeKeyError } from '../../src/transforms/anonymize/anonymizer.ts';
import { anonymizeConfig } from '../../src/transforms/anonymize/config.ts';
import { rename } from '../../src/transforms/rename/rename.ts';
import { mapSchemaThrough } from '../../src/transforms/schema-map.ts';
import { select } from '../../src/transforms/select/select.ts';
import { filter } from '../../src/transforms/filter/filter.ts';
import type { Transform } from '../../src/transforms/transform.ts';
import { context } from './support.ts';

const customers: TableSchema = {
  source: 'shop',
  database: 'shop',
  schema: 'public',
  table: 'customers',
  version: 3,
  primaryKey: ['id'],
  columns: [
    { name: 'id', type: { kind: 'int32' }, nullable: false },
    { name: 'name', type: { kind: 'string' }, nullable: false },
    { name: 'email', type: { kind: 'string' }, nullable: false },
    { name: 'phone', type: { kind: 'string' }, nullable: true },
    { name: 'birth_date', type: { kind: 'date' }, nullable: true },
    { name: 'notes', type: { kind: 'string' }, nullable: true },
    { name: 'ext_id', type: { kind: 'uuid' }, nullable: true },
  ],
};

function types(s: TableSchema | null): Record<string, string> {
  return Object.fromEntries((s?.columns ?? []).map((c) => [c.name, `${(c.type as ColumnType).kind}${c.nullable ? '?' : ''}`]));
}

test('a chain maps schemas: anonymize types, select, rename, add; filter keeps the schema', async () => {
  const anon = new Anonymizer(
    anonymizeConfig.parse({
      key: { env: 'K' },
      rules: [
        { columns: ['id', 'ext_id', 'email'], action: 'pseudonymize' },
        { columns: ['name'], action: 'redact', value: '[redacted]' },
        { columns: ['phone'], action: 'tokenize' },
        { columns: ['birth_date'], action: 'generalize', to: 'age', size: 10 },
        { columns: ['notes'], action: 'drop' },
      ],
    }),
    Buffer.from('0123456789abcdef0123'),
  );
  const chain: Transform[] = [
    anon,
    await select.create(select.config.parse({ columns: [{ tables: ['customers'], exclude: ['phone', 'id'] }] }), context()),
    await rename.create(rename.config.parse({ tables: [{ from: 'customers', to: 'clients', schema: 'crm' }], columns: [{ tables: ['customers'], from: 'id', to: 'client_id' }] }), context()),
    await add.create(add.config.parse({ columns: [{ name: 'Op', value: 'op_code' }, { name: 'ingested_at', value: 'ingestion_time' }, { name: 'weight', value: 'constant', constant: 1.5 }] }), context()),
    await filter.create(filter.config.parse({ drop_when: { field: 'op', equals: 'truncate' } }), context()),
  ];
  const out = mapSchemaThrough(chain, customers);
  assert.equal(out?.schema, 'crm');
  assert.equal(out?.table, 'clients');
  assert.equal(out?.version, 3);
  assert.deepEqual(out?.primaryKey, ['client_id']);
  assert.deepEqual(types(out), {
    client_id: 'int32',
    name: 'string',
    email: 'string',
    birth_date: 'int32?',
    ext_id: 'uuid?',
    Op: 'string',
    ingested_at: 'timestamptz',
    weight: 'float64',
  }, 'key kept by select, phone dropped, notes dropped by anonymize, age is an integer');
});

test('select drops excluded tables from schemas; anonymize refuses a collapsing rule on the key there too', async () => {
  const sel = await select.create(select.config.parse({ exclude: ['customers'] }), context());
  assert.equal(mapSchemaThrough([sel], customers), null);
  const anon = new Anonymizer(anonymizeConfig.parse({ rules: [{ tables: ['customers'], columns: ['i?'], action: 'mask' }] }), undefined);
  assert.throws(() => anon.mapSchema(customers), AnonymizeKeyError);
});

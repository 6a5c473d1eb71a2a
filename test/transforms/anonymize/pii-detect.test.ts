import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TableSchema } from '../../../src/core/schema.ts';
import { DateValue } from '../../../src/core/values.ts';
import { anonymizeConfig } from '../../../src/transforms/anonymize/config.ts';
import { detectPii, suggestConfigYaml } from '../../../src/transforms/anonymize/pii-detect.ts';
import { parse } from 'yaml';

function table(name: string, cols: string[], pk = ['id']): TableSchema {
  return { source: 's', database: 'd', schema: 'public', table: name, version: 1, columns: cols.map((c) => ({ name: c, type: { kind: 'string' }, nullable: true })), primaryKey: pk };
}

test('detects names, emails, phones, addresses, birth dates, IPs and card numbers by name and by value', () => {
  const users = table('users', ['id', 'full_name', 'contact', 'mobile', 'home', 'dob', 'last_ip', 'pan', 'note']);
  const rows = Array.from({ length: 10 }, (_v, i) => ({
    id: i,
    full_name: `Person ${i}`,
    contact: `p${i}@example.org`,
    mobile: `+1 555-010-${String(i).padStart(4, '0')}`,
    home: `${i + 1} Main Street`,
    dob: new DateValue(7000 + i),
    last_ip: `10.0.0.${i}`,
    pan: '4111 1111 1111 1111',
    note: 'nothing here',
  }));
  const events = table('events', ['id', 'user_id', 'client', 'payload']);
  const erows = Array.from({ length: 10 }, (_v, i) => ({ id: i, user_id: i, client: `192.168.1.${i}`, payload: 'x' }));
  const f = detectPii([{ schema: users, rows }, { schema: events, rows: erows }]);
  const got = Object.fromEntries(f.map((x) => [`${x.table}.${x.column}`, `${x.kind}:${String(x.rule['action'])}`]));
  assert.deepEqual(got, {
    'users.full_name': 'name:redact',
    'users.contact': 'email:pseudonymize',
    'users.mobile': 'phone:tokenize',
    'users.home': 'address:redact',
    'users.dob': 'birth_date:generalize',
    'users.last_ip': 'ip:pseudonymize',
    'users.pan': 'card_number:tokenize',
    'users.id': 'person_key:pseudonymize',
    'events.client': 'ip:pseudonymize',
    'events.user_id': 'person_key:pseudonymize',
  });
  assert.match(f.find((x) => x.column === 'contact')?.evidence ?? '', /100% of 10 sampled values look like email/);
  // The suggested YAML is a valid anonymize config, and safe for keys.
  const yaml = parse(suggestConfigYaml(f).replace(/^ {2}anonymize:\n/, '')) as Record<string, unknown>;
  const { type: _t, ...cfg } = yaml;
  const parsed = anonymizeConfig.parse(cfg);
  assert.equal(parsed.rules.length, f.length);
});

test('a key column always gets pseudonymize, and non-personal tables give no findings', () => {
  const t = table('accounts', ['email', 'plan'], ['email']);
  const f = detectPii([{ schema: t, rows: [{ email: 'a@b.co', plan: 'pro' }] }]);
  assert.deepEqual(f.map((x) => [x.column, x.rule['action']]), [['email', 'pseudonymize']]);
  assert.deepEqual(detectPii([{ schema: table('products', ['id', 'name', 'price']), rows: [{ id: 1, name: 'Lamp', price: '3' }] }]), []);
});

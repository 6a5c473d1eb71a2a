import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeEvent, LogEvent } from '../../../src/core/change-event.ts';
import { CodecError } from '../../../src/core/errors.ts';
import { Decimal, JsonText, type Row } from '../../../src/core/values.ts';
import { isAttributeValue, unmarshallItem, unmarshallValue } from '../../../src/transforms/flatten/dynamodb.ts';
import { flatten, FlattenTransform } from '../../../src/transforms/flatten/flatten.ts';
import { change, context, items, logEvent } from '../support.ts';

test('every DynamoDB type converts losslessly', () => {
  assert.equal(unmarshallValue({ S: 'héllo' }), 'héllo');
  assert.equal(unmarshallValue({ N: '42' }), 42);
  assert.equal(unmarshallValue({ N: '-9007199254740993' }), -9007199254740993n, 'integers beyond 2^53 become bigints');
  assert.deepEqual(unmarshallValue({ N: '12.50' }), new Decimal('12.50'), 'fractions stay exact decimals');
  assert.deepEqual(unmarshallValue({ N: '1.5E+3' }), new Decimal('1500'));
  assert.deepEqual(unmarshallValue({ N: '-2e-2' }), new Decimal('-0.02'));
  assert.deepEqual(unmarshallValue({ B: Buffer.from([0, 1, 255]).toString('base64') }), new Uint8Array([0, 1, 255]));
  assert.equal(unmarshallValue({ BOOL: false }), false);
  assert.equal(unmarshallValue({ NULL: true }), null);
  assert.deepEqual(unmarshallValue({ M: { a: { S: 'x' }, b: { M: { c: { N: '1' } } } } }), { a: 'x', b: { c: 1 } });
  assert.deepEqual(unmarshallValue({ L: [{ S: 'x' }, { N: '2' }, { NULL: true }] }), ['x', 2, null]);
  assert.deepEqual(unmarshallValue({ SS: ['a', 'b'] }), ['a', 'b']);
  assert.deepEqual(unmarshallValue({ NS: ['1', '2.5'] }), [1, new Decimal('2.5')]);
  assert.deepEqual(unmarshallValue({ BS: ['AAE=', '/w=='] }), [new Uint8Array([0, 1]), new Uint8Array([255])]);
  assert.deepEqual(unmarshallItem({ pk: { S: 'u#1' }, n: { N: '3' } }), { pk: 'u#1', n: 3 });
  assert.throws(() => unmarshallValue({ N: 'abc' }), CodecError);
  assert.throws(() => unmarshallValue({ S: 'a', N: '1' }), CodecError);
  assert.throws(() => unmarshallValue({ X: 1 }, '$.col'), /\$\.col has no single type key/);
  assert.equal(isAttributeValue({ S: 3 }), false, 'a document that only looks typed is not converted');
  assert.equal(isAttributeValue({ M: { a: { S: 'x' }, b: 'plain' } }), false);
});

test('nested JSON flattens with the separator, up to max_depth, arrays as configured', async () => {
  const t = new FlattenTransform(flatten.config.parse({ separator: '.', max_depth: 2 }));
  const r = t.flattenRow({ id: 1, address: { city: 'X', geo: { lat: 1, lng: 2, deep: { x: 1 } } }, tags: ['a', 'b'], empty: {} });
  assert.deepEqual(r, { id: 1, 'address.city': 'X', 'address.geo.lat': 1, 'address.geo.lng': 2, 'address.geo.deep': new JsonText('{"x":1}'), tags: ['a', 'b'], empty: null });
  const idx = new FlattenTransform(flatten.config.parse({ arrays: 'index' })).flattenRow({ tags: ['a', { k: 'b' }] });
  assert.deepEqual(idx, { tags_0: 'a', tags_1_k: 'b' });
  const js = new FlattenTransform(flatten.config.parse({ arrays: 'json' })).flattenRow({ tags: ['a', 1n] });
  assert.deepEqual(js, { tags: new JsonText('["a","1"]') });
});

test('JSON columns are parsed and flattened, except where JSON numbers would lose digits', () => {
  const t = new FlattenTransform(flatten.config.parse({}));
  assert.deepEqual(t.flattenRow({ doc: new JsonText('{"a":{"b":true},"n":1.5}') }), { doc_a_b: true, doc_n: 1.5 });
  const big = new JsonText('{"id":12345678901234567890}');
  assert.deepEqual(t.flattenRow({ doc: big }), { doc: big });
  assert.deepEqual(t.flattenRow({ doc: new JsonText('not json') }), { doc: new JsonText('not json') });
});

test('DynamoDB items in columns and log events are converted, also nested in plain documents', async () => {
  const t = await flatten.create(flatten.config.parse({}), context());
  const stream = { eventName: 'INSERT', dynamodb: { Keys: { pk: { S: 'u#1' } }, NewImage: { pk: { S: 'u#1' }, age: { N: '30' }, prefs: { M: { lang: { S: 'en' } } } } } };
  const r = await t.apply(items(logEvent(stream), change('docs', { id: 1, item: { name: { S: 'A' }, score: { N: '9.5' } } })));
  assert.deepEqual((r.items[0]?.envelope as LogEvent).data, { eventName: 'INSERT', dynamodb_Keys_pk: 'u#1', dynamodb_NewImage_pk: 'u#1', dynamodb_NewImage_age: 30, dynamodb_NewImage_prefs_lang: 'en' });
  assert.deepEqual((r.items[1]?.envelope as ChangeEvent).after, { id: 1, item_name: 'A', item_score: new Decimal('9.5') } as Row);
});

test('dynamodb: always sends malformed records to failed with the reason; never leaves them', async () => {
  const always = await flatten.create(flatten.config.parse({ dynamodb: 'always', columns: ['item'] }), context());
  const r = await always.apply(items(change('d', { id: 1, item: { name: { S: 'A' } } }), change('d', { id: 2, item: { name: 'plain' } })));
  assert.equal(r.items.length, 1);
  assert.equal(r.failed.length, 1);
  assert.equal(r.failed[0]?.item.id, '1');
  assert.match(r.failed[0]?.reason ?? '', /column item is not DynamoDB-typed JSON/);
  const never = new FlattenTransform(flatten.config.parse({ dynamodb: 'never' }));
  assert.deepEqual(never.flattenRow({ item: { name: { S: 'A' } } }), { item_name_S: 'A' });
});

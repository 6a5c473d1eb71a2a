/**
 * One conformance suite for every {@link ObjectStore}: round trips (read back and compare
 * bytes), replace, streamed and multipart bodies, listing order and prefixes, head, delete,
 * invalid keys, and that no temporary object is ever listed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import type { ObjectStore } from '../../src/lake/object-store.ts';

async function* chunks(buf: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < buf.byteLength; i += size) yield buf.subarray(i, Math.min(buf.byteLength, i + size));
}

/** Runs the suite as subtests of `t` against a fresh, empty store. */
export async function objectStoreConformance(t: TestContext, store: ObjectStore): Promise<void> {
  await t.test('put/get round trip with exact bytes, incl. empty object', async () => {
    const body = randomBytes(1000);
    assert.deepEqual(await store.put('a/b/one.bin', body), { size: 1000 });
    assert.deepEqual(Buffer.from(await store.get('a/b/one.bin')), body);
    await store.put('a/empty.bin', new Uint8Array(0));
    assert.equal((await store.get('a/empty.bin')).byteLength, 0);
    assert.deepEqual(await store.head('a/empty.bin'), { key: 'a/empty.bin', size: 0 });
  });
  await t.test('put replaces an object of the same key', async () => {
    await store.put('r/x.txt', Buffer.from('first version'));
    await store.put('r/x.txt', Buffer.from('second'));
    assert.equal(Buffer.from(await store.get('r/x.txt')).toString(), 'second');
    assert.equal((await store.list('r/')).length, 1);
  });
  await t.test('streamed body larger than a part (multipart on S3) reads back byte for byte', async () => {
    const big = randomBytes(11 * 1024 * 1024 + 17);
    const r = await store.put('big/object.bin', chunks(big, 1024 * 1024 + 3));
    assert.equal(r.size, big.byteLength);
    assert.ok(Buffer.from(await store.get('big/object.bin')).equals(big));
    const r2 = await store.put('big/buffer.bin', big);
    assert.equal(r2.size, big.byteLength);
    assert.ok(Buffer.from(await store.get('big/buffer.bin')).equals(big));
  });
  await t.test('list is sorted, filtered by prefix, and shows no temporary objects', async () => {
    for (const k of ['l/z.txt', 'l/a.txt', 'l/m/n.txt', 'lx/q.txt', 'l.txt']) await store.put(k, Buffer.from(k));
    assert.deepEqual((await store.list('l/')).map((o) => o.key), ['l/a.txt', 'l/m/n.txt', 'l/z.txt']);
    assert.deepEqual((await store.list('l')).map((o) => o.key), ['l.txt', 'l/a.txt', 'l/m/n.txt', 'l/z.txt', 'lx/q.txt']);
    assert.deepEqual((await store.list('l/m')).map((o) => o.key), ['l/m/n.txt']);
    assert.deepEqual(await store.list('nothing/'), []);
    const all = await store.list('');
    assert.ok(all.every((o) => !o.key.includes('hydrant-tmp') && !o.key.endsWith('.part')), JSON.stringify(all));
    assert.equal(all.find((o) => o.key === 'l/a.txt')?.size, 'l/a.txt'.length);
  });
  await t.test('head and delete; deleting a missing key is not an error', async () => {
    await store.put('d/x', Buffer.from('x'));
    assert.deepEqual(await store.head('d/x'), { key: 'd/x', size: 1 });
    await store.delete('d/x');
    assert.equal(await store.head('d/x'), undefined);
    await store.delete('d/x');
    await assert.rejects(store.get('d/x'), (e: Error & { code?: string }) => e.code === 'NOT_FOUND');
  });
  await t.test('invalid keys are rejected with a clear error', async () => {
    for (const k of ['', '/abs', 'a//b', 'a/../b', 'a/', 'x\u0000y']) {
      await assert.rejects(store.put(k, Buffer.from('x')), (e: Error & { code?: string }) => e.code === 'LAKE_KEY_INVALID' && /invalid object key/.test(e.message));
    }
  });
  await t.test('keys with spaces, = and unicode round trip', async () => {
    const k = 'databases/src/public/t/changes/year=2024/day=01/naïve name ü.parquet';
    await store.put(k, Buffer.from('hello'));
    assert.deepEqual((await store.list('databases/')).map((o) => o.key), [k]);
    assert.equal(Buffer.from(await store.get(k)).toString(), 'hello');
  });
}

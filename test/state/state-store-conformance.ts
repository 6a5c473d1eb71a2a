/**
 * The conformance suite every {@link StateStore} passes (memory, embedded, later PostgreSQL):
 * `runStateStoreConformance('embedded', async () => harness)`. A harness opens the store over
 * the same backing state each time, so "close then open" checks durability.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StateStore, StateValue } from '../../src/state/state-store.ts';
import { StateConflictError } from '../../src/state/errors.ts';

/** One backing state (directory, database schema...) that can be opened repeatedly. */
export interface StateStoreHarness {
  /** Opens a store over this harness's state; at most one is open at a time. */
  open(): Promise<StateStore>;
  /** Removes the backing state. */
  cleanup(): Promise<void>;
  /**
   * Opens a read-only view of the same state beside the open store (stores that have one):
   * it sees what was committed when it opened and rejects commits.
   */
  openReadOnly?(): Promise<StateStore>;
}

/** Registers the suite's tests under `name`. */
export function runStateStoreConformance(name: string, newHarness: () => Promise<StateStoreHarness>): void {
  const withStore = (title: string, body: (store: StateStore, h: StateStoreHarness) => Promise<StateStore | void>): void => {
    test(`${name} state store: ${title}`, async () => {
      const h = await newHarness();
      let store = await h.open();
      try {
        store = (await body(store, h)) ?? store;
      } finally {
        await store.close();
        await h.cleanup();
      }
    });
  };

  withStore('get, put, delete and absent keys', async (s) => {
    assert.equal(await s.get('nope'), undefined);
    const value: StateValue = { lsn: '0/16B3748', n: 42, ok: true, nested: [1, 'two', null, { x: -0.5 }] };
    await s.commit([{ type: 'put', key: 'sources/pg/position', value }]);
    assert.deepEqual(await s.get('sources/pg/position'), value);
    await s.commit([{ type: 'put', key: 'sources/pg/position', value: 'replaced' }]);
    assert.equal(await s.get('sources/pg/position'), 'replaced');
    await s.commit([{ type: 'delete', key: 'sources/pg/position' }]);
    assert.equal(await s.get('sources/pg/position'), undefined);
    await s.commit([{ type: 'delete', key: 'never-existed' }]);
    assert.equal(await s.get('never-existed'), undefined);
  });

  withStore('values come back as copies', async (s) => {
    await s.commit([{ type: 'put', key: 'k', value: { a: [1] } }]);
    const v = (await s.get('k')) as { a: number[] };
    v.a.push(2);
    assert.deepEqual(await s.get('k'), { a: [1] });
  });

  withStore('multi-key commits are atomic: a failed condition applies nothing', async (s) => {
    await s.commit([{ type: 'put', key: 'a', value: 1 }]);
    await assert.rejects(
      s.commit(
        [
          { type: 'put', key: 'a', value: 2 },
          { type: 'put', key: 'b', value: 2 },
          { type: 'delete', key: 'a' },
        ],
        [{ key: 'a', equals: 999 }],
      ),
      (err: unknown) => err instanceof StateConflictError && err.code === 'STATE_CONFLICT' && err.message.includes('"a"'),
    );
    assert.equal(await s.get('a'), 1);
    assert.equal(await s.get('b'), undefined);
    await s.commit(
      [
        { type: 'put', key: 'a', value: 2 },
        { type: 'put', key: 'b', value: 2 },
      ],
      [{ key: 'a', equals: 1 }],
    );
    assert.equal(await s.get('a'), 2);
    assert.equal(await s.get('b'), 2);
  });

  withStore('ops of one transaction apply in order', async (s) => {
    await s.commit([
      { type: 'put', key: 'x', value: 1 },
      { type: 'delete', key: 'x' },
      { type: 'put', key: 'y', value: 1 },
      { type: 'put', key: 'y', value: 2 },
    ]);
    assert.equal(await s.get('x'), undefined);
    assert.equal(await s.get('y'), 2);
  });

  withStore('conditions: absent, deep equality regardless of object key order', async (s) => {
    await s.commit([{ type: 'put', key: 'lease/shard-0', value: { owner: 'w1', until: 100 } }], [{ key: 'lease/shard-0', equals: undefined }]);
    await assert.rejects(s.commit([{ type: 'put', key: 'lease/shard-0', value: { owner: 'w2', until: 200 } }], [{ key: 'lease/shard-0', equals: undefined }]), StateConflictError);
    await s.commit([{ type: 'put', key: 'lease/shard-0', value: { owner: 'w2', until: 200 } }], [{ key: 'lease/shard-0', equals: { until: 100, owner: 'w1' } }]);
    assert.deepEqual(await s.get('lease/shard-0'), { owner: 'w2', until: 200 });
    await assert.rejects(s.commit([], [{ key: 'lease/shard-0', equals: { owner: 'w2' } }]), StateConflictError);
    await assert.rejects(s.commit([], [{ key: 'lease/shard-0', equals: null }]), StateConflictError);
    await s.commit([{ type: 'put', key: 'n', value: null }]);
    await assert.rejects(s.commit([], [{ key: 'n', equals: undefined }]), StateConflictError, 'null is present, not absent');
    await s.commit([], [{ key: 'n', equals: null }]);
    await s.commit([{ type: 'delete', key: 'lease/shard-0' }], [{ key: 'lease/shard-0', equals: { owner: 'w2', until: 200 } }, { key: 'n', equals: null }]);
    assert.equal(await s.get('lease/shard-0'), undefined);
  });

  withStore('list returns keys with a prefix in key order', async (s) => {
    const keys = ['b', 'a/2', 'a/10', 'a', 'a/1', 'ab', 'a/1/x', 'c/ä', 'c/z', 'a0'];
    for (const k of keys) await s.commit([{ type: 'put', key: k, value: k }]);
    assert.deepEqual((await s.list('a/')).map((e) => e.key), ['a/1', 'a/1/x', 'a/10', 'a/2']);
    assert.deepEqual((await s.list('a')).map((e) => e.key), ['a', 'a/1', 'a/1/x', 'a/10', 'a/2', 'a0', 'ab']);
    assert.deepEqual((await s.list('')).map((e) => e.key), [...keys].sort());
    assert.deepEqual(await s.list('c/'), [{ key: 'c/z', value: 'c/z' }, { key: 'c/ä', value: 'c/ä' }]);
    assert.deepEqual(await s.list('zzz'), []);
    await s.commit([{ type: 'delete', key: 'a/1' }]);
    assert.deepEqual((await s.list('a/1')).map((e) => e.key), ['a/1/x', 'a/10']);
  });

  withStore('rejects values JSON cannot carry, naming the key, and writes nothing', async (s) => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, 10n, undefined, new Date(0)] as unknown[]) {
      await assert.rejects(s.commit([{ type: 'put', key: 'ok', value: 1 }, { type: 'put', key: 'bad/key', value: { deep: [bad] } as unknown as StateValue }]), /bad\/key/);
    }
    assert.equal(await s.get('ok'), undefined);
  });

  withStore('commits survive close and reopen', async (s, h) => {
    await s.commit([{ type: 'put', key: 'keep', value: { v: 1 } }, { type: 'put', key: 'gone', value: 1 }]);
    await s.commit([{ type: 'delete', key: 'gone' }, { type: 'put', key: 'big', value: 'x'.repeat(100_000) }]);
    await s.close();
    const again = await h.open();
    assert.deepEqual(await again.get('keep'), { v: 1 });
    assert.equal(await again.get('gone'), undefined);
    assert.equal(((await again.get('big')) as string).length, 100_000);
    await again.commit([{ type: 'put', key: 'after', value: 2 }]);
    await again.close();
    const third = await h.open();
    assert.deepEqual((await third.list('')).map((e) => e.key), ['after', 'big', 'keep']);
    return third;
  });

  withStore('a read-only open beside the writer sees the commits as of open and cannot write', async (s, h) => {
    if (h.openReadOnly === undefined) return;
    await s.commit([{ type: 'put', key: 'a', value: 1 }, { type: 'put', key: 'b', value: { x: [1] } }]);
    await s.commit([{ type: 'delete', key: 'a' }, { type: 'put', key: 'c', value: 'x'.repeat(100_000) }]);
    const view = await h.openReadOnly();
    try {
      assert.deepEqual((await view.list('')).map((e) => e.key), ['b', 'c']);
      assert.deepEqual(await view.get('b'), { x: [1] });
      await assert.rejects(view.commit([{ type: 'put', key: 'd', value: 1 }]), /read-only/);
      await s.commit([{ type: 'put', key: 'd', value: 2 }]);
      assert.equal(await view.get('d'), undefined, 'the view is the state as of open');
    } finally {
      await view.close();
    }
    assert.equal(await s.get('d'), 2, 'the writer goes on');
    await s.close();
    const again = await h.open();
    assert.deepEqual((await again.list('')).map((e) => e.key), ['b', 'c', 'd']);
    const later = await h.openReadOnly();
    assert.equal(await later.get('d'), 2);
    await later.close();
    return again;
  });

  withStore('concurrent commits all apply; competing conditions let exactly one win', async (s) => {
    await Promise.all(Array.from({ length: 200 }, (_, i) => s.commit([{ type: 'put', key: `c/${String(i).padStart(3, '0')}`, value: i }])));
    const listed = await s.list('c/');
    assert.equal(listed.length, 200);
    assert.deepEqual(listed.map((e) => e.value), Array.from({ length: 200 }, (_, i) => i));

    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => s.commit([{ type: 'put', key: 'lease', value: `w${i}` }], [{ key: 'lease', equals: undefined }])));
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1);
    assert.ok(results.every((r) => r.status === 'fulfilled' || r.reason instanceof StateConflictError));
    const winner = results.findIndex((r) => r.status === 'fulfilled');
    assert.equal(await s.get('lease'), `w${winner}`);
  });

  withStore('compare-and-set increments from concurrent workers lose no update', async (s) => {
    await s.commit([{ type: 'put', key: 'counter', value: 0 }]);
    let conflicts = 0;
    const worker = async (times: number): Promise<void> => {
      for (let i = 0; i < times; i++) {
        for (;;) {
          const cur = (await s.get('counter')) as number;
          try {
            await s.commit([{ type: 'put', key: 'counter', value: cur + 1 }], [{ key: 'counter', equals: cur }]);
            break;
          } catch (err) {
            if (!(err instanceof StateConflictError)) throw err;
            conflicts++;
          }
        }
      }
    };
    await Promise.all([worker(25), worker(25), worker(25), worker(25)]);
    assert.equal(await s.get('counter'), 100);
    assert.ok(conflicts >= 0);
  });
}

/**
 * Read-only opens of the embedded state store: beside a live writer (which compacts all the
 * time) every view is a whole-transaction prefix of the writer's history, the writer is never
 * blocked or damaged, and nothing on disk is touched — a torn tail is ignored, not cut.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CorruptionError } from '../../../src/core/errors.ts';
import { EmbeddedStateStore } from '../../../src/state/embedded/embedded-state-store.ts';
import { StateUnavailableError } from '../../../src/state/errors.ts';
import type { StateOp } from '../../../src/state/state-store.ts';
import { writeJournal } from './journal-cuts.ts';
import { prng as rng } from '../../support/prng.ts';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'hydrant-state-ro-'));
}

test('beside a live, compacting writer every read-only view is a whole-transaction prefix; the writer is not disturbed', async () => {
  const seed = Number(process.env['HYDRANT_TEST_SEED'] ?? Date.now() % 2 ** 31);
  console.log(`# seed ${seed} (rerun with HYDRANT_TEST_SEED=${seed})`);
  const rand = rng(seed);
  const dataDir = await tempDir();
  try {
    const writer = await EmbeddedStateStore.open({ dataDir, compactAfterBytes: 4096 });
    const total = 400;
    let done = false;
    // Transaction i sets n = i and adds k/i; every 7th also deletes k/(i-5). A view must hold
    // exactly the keys that the first n transactions leave.
    const expectedKeys = (n: number): string[] => {
      const keys = new Set<string>();
      for (let i = 1; i <= n; i++) {
        keys.add(`k/${String(i).padStart(4, '0')}`);
        if (i % 7 === 0) keys.delete(`k/${String(i - 5).padStart(4, '0')}`);
      }
      return [...keys].sort();
    };
    const write = async (): Promise<void> => {
      for (let i = 1; i <= total; i++) {
        const ops: StateOp[] = [{ type: 'put', key: 'n', value: i }, { type: 'put', key: `k/${String(i).padStart(4, '0')}`, value: 'v'.repeat(Math.floor(rand() * 600)) }];
        if (i % 7 === 0) ops.push({ type: 'delete', key: `k/${String(i - 5).padStart(4, '0')}` });
        await writer.commit(ops);
      }
      done = true;
    };
    let views = 0;
    let last = 0;
    const read = async (): Promise<void> => {
      while (!done) {
        const view = await EmbeddedStateStore.openReadOnly({ dataDir });
        const n = ((await view.get('n')) as number | undefined) ?? 0;
        assert.ok(n >= last, `views never go back (${n} after ${last})`);
        last = n;
        assert.deepEqual((await view.list('k/')).map((e) => e.key), expectedKeys(n), `view at n=${n}, seed ${seed}`);
        await view.close();
        views++;
      }
    };
    await Promise.all([write(), read()]);
    assert.ok(writer.stats().compactions > 0, 'the writer compacted while being read');
    assert.ok(views > 1, `read-only opens happened during the writes (${views})`);
    await writer.commit([{ type: 'put', key: 'after', value: true }]);
    await writer.close();
    const reopened = await EmbeddedStateStore.open({ dataDir });
    try {
      assert.equal(await reopened.get('n'), total);
      assert.equal(await reopened.get('after'), true);
      assert.deepEqual((await reopened.list('k/')).map((e) => e.key), expectedKeys(total));
    } finally {
      await reopened.close();
    }
    const final = await EmbeddedStateStore.openReadOnly({ dataDir });
    assert.equal(await final.get('after'), true);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('every torn cut of the journal: a read-only open sees the whole-transaction prefix and leaves the file byte for byte', async () => {
  const dataDir = await tempDir();
  try {
    const txs: StateOp[][] = [
      [{ type: 'put', key: 'a', value: 1 }, { type: 'put', key: 'b', value: 1 }],
      [{ type: 'put', key: 'a', value: 2 }, { type: 'delete', key: 'b' }],
      [{ type: 'put', key: 'c', value: 'three' }],
    ];
    const { path, full, ends, expectedAfter: expected } = await writeJournal(dataDir, txs);
    for (let cut = 0; cut <= full.length; cut++) {
      const bytes = full.subarray(0, cut);
      await writeFile(path, bytes);
      const view = await EmbeddedStateStore.openReadOnly({ dataDir, attempts: 1 });
      const complete = ends.filter((e) => e <= cut).length - 1;
      assert.deepEqual(Object.fromEntries((await view.list('')).map((e) => [e.key, e.value])), expected(Math.max(0, complete)), `cut at ${cut}`);
      assert.deepEqual(await readFile(path), bytes, `cut at ${cut}: the file is untouched`);
    }
    // The writer still repairs a torn tail itself.
    await writeFile(path, full.subarray(0, (ends[2] as number) + 3));
    const w = await EmbeddedStateStore.open({ dataDir });
    assert.equal((await stat(path)).size, ends[2]);
    assert.deepEqual(Object.fromEntries((await w.list('')).map((e) => [e.key, e.value])), expected(2));
    await w.close();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('read-only: commits are refused, a missing state store reads as empty and is not created, real damage is reported', async () => {
  const dataDir = await tempDir();
  try {
    const empty = await EmbeddedStateStore.openReadOnly({ dataDir: join(dataDir, 'nothing-here') });
    assert.deepEqual(await empty.list(''), []);
    assert.equal(existsSync(join(dataDir, 'nothing-here')), false, 'nothing created');
    await assert.rejects(empty.commit([{ type: 'put', key: 'x', value: 1 }]), (err: unknown) => err instanceof StateUnavailableError && /read-only/.test(err.message));

    const s = await EmbeddedStateStore.open({ dataDir, compactAfterBytes: 256 });
    for (let i = 0; i < 20; i++) await s.commit([{ type: 'put', key: `k${i}`, value: 'x'.repeat(40) }]);
    await s.idle();
    await s.close();
    const names = (await readdir(join(dataDir, 'state'))).filter((n) => n.startsWith('journal-')).sort();
    assert.ok(names.length >= 1);
    const path = join(dataDir, 'state', names.at(-1) as string);
    // Three more transactions in the newest journal (no compaction now), then flip a byte in the
    // first of them: damage followed by whole frames, not a torn tail.
    const at = (await stat(path)).size;
    const w = await EmbeddedStateStore.open({ dataDir });
    for (let i = 0; i < 3; i++) await w.commit([{ type: 'put', key: `more${i}`, value: i }]);
    await w.close();
    const buf = await readFile(path);
    buf[at + 10] = (buf[at + 10] as number) ^ 0xff;
    await writeFile(path, buf);
    await assert.rejects(EmbeddedStateStore.openReadOnly({ dataDir, attempts: 2 }), (err: unknown) => err instanceof CorruptionError && err.message.includes(path));
    assert.deepEqual(await readFile(path), buf, 'left as found');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

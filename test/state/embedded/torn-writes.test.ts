/**
 * A crash can cut the journal at any byte. For every possible cut of a small journal, opening
 * must recover exactly the transactions whose frames are complete — each one whole — and
 * accept new commits afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedStateStore } from '../../../src/state/embedded/embedded-state-store.ts';
import { FRAME_HEADER_BYTES } from '../../../src/state/embedded/frame.ts';
import type { StateOp } from '../../../src/state/state-store.ts';
import { writeJournal } from './journal-cuts.ts';

test('every possible torn cut of the journal recovers a whole-transaction prefix', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'hydrant-state-torn-'));
  try {
    const txs: StateOp[][] = [
      [{ type: 'put', key: 'a', value: 1 }, { type: 'put', key: 'b', value: 1 }],
      [{ type: 'put', key: 'a', value: 2 }, { type: 'delete', key: 'b' }, { type: 'put', key: 'c', value: [2] }],
      [{ type: 'put', key: 'b', value: { n: 3 } }, { type: 'put', key: 'c', value: 'three' }],
      [{ type: 'delete', key: 'a' }, { type: 'put', key: 'd', value: null }],
    ];
    const { path, full, ends, expectedAfter } = await writeJournal(dataDir, txs);
    let cuts = 0;
    for (let cut = 0; cut <= full.length; cut++) {
      await writeFile(path, full.subarray(0, cut));
      const store = await EmbeddedStateStore.open({ dataDir });
      const complete = ends.filter((e, i) => i > 0 && e <= cut).length;
      const got = Object.fromEntries((await store.list('')).map((e) => [e.key, e.value]));
      assert.deepEqual(got, expectedAfter(complete), `cut at byte ${cut}`);
      await store.commit([{ type: 'put', key: 'zz-after', value: cut }]);
      await store.close();
      const again = await EmbeddedStateStore.open({ dataDir });
      assert.equal(await again.get('zz-after'), cut, `cut at byte ${cut}: commit after recovery lost`);
      await again.close();
      cuts++;
    }
    assert.ok(cuts > txs.length * FRAME_HEADER_BYTES);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

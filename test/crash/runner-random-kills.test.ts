import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/core/logger.ts';
import { EmbeddedStateStore } from '../../src/state/embedded/embedded-state-store.ts';
import { Prng } from '../../src/sources/generator/prng.ts';
import { runChild, runToCompletion, verify, writePipeline } from './crash-support.ts';

const SEED = Number(process.env['HYDRANT_TEST_SEED'] ?? Date.now() % 1_000_000);
const KILLS = 22;
console.log(`runner random kills seed=${SEED} (rerun with HYDRANT_TEST_SEED=${SEED})`);

test(`${KILLS} SIGKILLs at seeded random moments, then a run to completion: nothing lost, nothing duplicated`, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-kills-'));
  try {
    const rng = new Prng(SEED);
    // Rate-limited so the workload spans all the kills (each run gets a few hundred ms of work
    // after start-up) and files are cut by age as well as by count.
    const p = { seed: SEED, count: 20_000, batchSize: 100, rate: 1000 };
    const file = await writePipeline(dir, p);
    for (let i = 0; i < KILLS; i++) {
      const delay = rng.int(50, 1500);
      const r = await runChild(file, [], { killAfterMs: delay });
      assert.equal(r.signal, 'SIGKILL', `run ${i + 1} (kill after ${delay} ms) ended by itself: ${r.code}\n${r.stderr.slice(-3000)}`);
    }
    // The killed runs made progress (so the kills landed while work was going on).
    const st = await EmbeddedStateStore.open({ dataDir: dir, logger: silentLogger });
    const pos = await st.get('sources/shop/position');
    await st.close();
    console.log(`position after ${KILLS} kills: ${String(pos)}`);
    assert.ok(typeof pos === 'string' && Number(pos) > 0, 'killed runs committed some positions');
    await runToCompletion(file);
    await verify(dir, p);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

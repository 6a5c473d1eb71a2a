import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChild, runToCompletion, verify, writePipeline } from './crash-support.ts';

const SEED = Number(process.env['HYDRANT_TEST_SEED'] ?? 20261121);
console.log(`runner crash points seed=${SEED}`);

// Each point is hit on its 3rd (or 5th) pass, so some batches/files are already committed.
const POINTS = [
  'runner.after-append-before-position:3',
  'runner.after-position-before-ack:3',
  'delivery.after-write-before-checkpoint:5',
  'file.after-rename-before-commit:5',
];

for (const spec of POINTS) {
  const name = spec.split(':')[0] as string;
  test(`kill -9 at ${name}: restart loses nothing and duplicates nothing`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hydrant-crash-'));
    try {
      // Rate-limited so files are mostly cut by age (40 ms), not by count: a restart that reads a
      // backlog must still cut exactly where an uncommitted leftover file ends.
      const p = { seed: SEED, count: 3000, batchSize: 100, rate: 4000 };
      const file = await writePipeline(dir, p);
      const crashed = await runChild(file, ['--until-caught-up'], { crashAt: spec });
      assert.equal(crashed.signal, 'SIGKILL', `expected the child to die at the crash point; exit ${crashed.code}; stderr:\n${crashed.stderr.slice(-2000)}`);
      assert.ok(crashed.stderr.includes(`HYDRANT CRASH POINT ${name}\n`), 'the crash point was reached');
      // Crash again at the same point on the next run too: recovery itself must be crash-safe.
      const again = await runChild(file, ['--until-caught-up'], { crashAt: `${name}:2` });
      assert.ok(again.signal === 'SIGKILL' || again.code === 0, `second run: ${again.code ?? again.signal}\n${again.stderr.slice(-2000)}`);
      await runToCompletion(file);
      await verify(dir, p);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

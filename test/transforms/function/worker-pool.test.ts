import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvocationError, WorkerPool } from '../../../src/transforms/function/worker-pool.ts';

test('the pool never runs more invocations than its size, reuses workers, and replaces a terminated one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-pool-'));
  const module = join(dir, 'f.mjs');
  writeFileSync(module, 'export async function handler(e) { if (e.spin) { for (;;) {} } await new Promise((r) => setTimeout(r, 20)); return { echo: e.n }; }\n');
  const pool = new WorkerPool({ moduleUrl: pathToFileURL(module).href, exportName: 'handler', size: 3, tsxApi: null });
  try {
    const results = await Promise.all(Array.from({ length: 12 }, (_v, n) => pool.invoke({ n }, 10_000)));
    assert.deepEqual(results, Array.from({ length: 12 }, (_v, n) => ({ echo: n })));
    assert.deepEqual(pool.stats(), { peakBusy: 3, workersStarted: 3, workers: 3 }, 'three at a time, on three workers');
    await assert.rejects(pool.invoke({ spin: true }, 200), (e: unknown) => e instanceof InvocationError && e.code === 'FUNCTION_TIMEOUT');
    assert.equal(pool.stats().workers, 2, 'the stuck worker was terminated');
    assert.deepEqual(await pool.invoke({ n: 99 }, 10_000), { echo: 99 });
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(pool.invoke({ n: 1 }, 1000), /closed/);
});

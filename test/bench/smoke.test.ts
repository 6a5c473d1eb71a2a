// Runs every benchmark of bench/list.ts at small N so none can rot. Timings are printed, never
// asserted: performance is judged by `npm run bench`, not by tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchmarks } from '../../bench/list.ts';
import { formatResult } from '../../bench/harness.ts';

test('the benchmark list is not empty', () => {
  assert.ok(benchmarks.length > 0, 'bench/list.ts lists no benchmark');
});

for (const b of benchmarks) {
  test(`benchmark ${b.name} runs at smoke size`, async () => {
    const workDir = mkdtempSync(join(tmpdir(), `hydrant-smoke-${b.name}-`));
    try {
      const r = await b.run({ smoke: true, workDir });
      console.log(formatResult(b, r));
      assert.ok(r.rows.length > 0, 'a benchmark must report at least one measurement');
      for (const row of r.rows) assert.ok(Number.isFinite(row.value) && row.value >= 0, `${row.name}: ${row.value}`);
      for (const q of r.ratios) assert.ok(Number.isFinite(q.value) && q.value > 0, `${q.name}: ${q.value}`);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  });
}

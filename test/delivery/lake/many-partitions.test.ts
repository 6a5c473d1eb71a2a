/**
 * 10,000 distinct partition values under a 4 MiB memory budget, in a child limited by
 * --max-old-space-size=160: the delivery flushes the oldest buffers instead of growing, the
 * child does not run out of memory, and everything is delivered once. RSS is measured and
 * printed; the assertion bounds it loosely (the budget is what the delivery controls; the
 * rest is Node, tsx and V8).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('10,000 partitions with a small memory budget stay bounded and deliver everything', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-many-'));
  try {
    const r = spawnSync(process.execPath, ['--max-old-space-size=160', '--import', 'tsx', join(import.meta.dirname, 'many-partitions-child.ts'), dir], { encoding: 'utf8', maxBuffer: 1 << 20 });
    assert.equal(r.status, 0, `child failed (${r.signal ?? r.status}): ${r.stderr.slice(-2000)}`);
    const m = JSON.parse(r.stdout.trim()) as { records: number; peakRssMiB: number; peakBufferedMiB: number; budgetMiB: number; heapLimitMiB: number };
    console.log(`# many partitions: ${JSON.stringify(m)}`);
    assert.equal(m.records, 20_000);
    assert.ok(m.peakBufferedMiB <= m.budgetMiB, `buffered ${m.peakBufferedMiB} MiB > budget ${m.budgetMiB} MiB`);
    assert.ok(m.peakRssMiB < 400, `peak RSS ${m.peakRssMiB} MiB`);
    const root = join(dir, 'lake', 'p');
    const parts = readdirSync(root);
    assert.equal(parts.length, 10_000);
    let lines = 0;
    const seqs = new Set<string>();
    for (const p of parts) {
      for (const f of readdirSync(join(root, p))) {
        for (const l of readFileSync(join(root, p, f), 'utf8').trim().split('\n')) {
          lines++;
          seqs.add((JSON.parse(l) as { _sequence: string })._sequence);
        }
      }
    }
    assert.equal(lines, 20_000);
    assert.equal(seqs.size, 20_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

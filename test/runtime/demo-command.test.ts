import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { canonRows } from '../lake/current/compare.ts';
import { readStoredTables, replayGenerator } from './current-state-support.ts';

const BIN = fileURLToPath(new URL('../../bin/hydrant.js', import.meta.url));

test('hydrant demo runs the example pipeline to completion, reports records in = out per table and the current-state tables beside their history', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-demo-'));
  try {
    const demoDir = join(dir, 'demo');
    const run = () => spawnSync(process.execPath, [BIN, 'demo', '--dir', demoDir, '--count', '800'], { encoding: 'utf8', env: { ...process.env, HYDRANT_CRASH_AT: '' } });
    const rowsNow = new Map<string, number>();
    for (let i = 0; i < 2; i++) {
      // Twice: the second run wipes the first demo's data and starts fresh.
      const r = run();
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /Caught up after/);
      let total = 0;
      for (const t of ['customers', 'products', 'orders', 'order_items']) {
        const m = new RegExp(`^\\s+${t}\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s*$`, 'm').exec(r.stdout);
        assert.ok(m !== null, `row for ${t} in:\n${r.stdout}`);
        assert.equal(m[1], m[2], `${t}: in = out (files)`);
        assert.equal(m[1], m[3], `${t}: in = out (lake)`);
        total += Number(m[1]);
        // The current-state table (merged inside the run) beside its history: every captured
        // change is in the history, and the table holds at least one row and at most one per change.
        const c = new RegExp(`^\\s+shop\\.public\\.${t}\\s+\\|\\s+(\\d+)\\s+\\|\\s+(\\d+)\\s*$`, 'm').exec(r.stdout);
        assert.ok(c !== null, `current-state row for ${t} in:\n${r.stdout}`);
        assert.equal(c[2], m[1], `${t}: changes in the history = records in`);
        assert.ok(Number(c[1]) > 0 && Number(c[1]) <= Number(c[2]), `${t}: 0 < rows now (${c[1]}) <= changes (${c[2]})`);
        rowsNow.set(t, Number(c[1]));
      }
      assert.match(r.stdout, /^Current-state tables \(/m);
      assert.match(r.stdout, /hydrant query examples\/demo\.yaml "SELECT count\(\*\) FROM shop\.public\.customers"/);
      assert.equal(total, 800);
      assert.match(r.stdout, /JSON-lines files under/);
      // The lake: Parquet objects, a SQL query over them, and the command to query again.
      assert.match(r.stdout, /lake \(lake\): \d+ objects under .*, registered in the lake catalog; \d+ current-state files/);
      assert.match(r.stdout, /shop\.public\.orders_changes\s+\| insert\s+\| \d+/);
      assert.match(r.stdout, /hydrant query examples\/demo\.yaml "SELECT/);
    }
    assert.ok((await readdir(join(demoDir, 'files'))).length > 0);
    // The rows printed and the tables stored equal an independent replay of the demo's
    // generator (seed 42 in examples/demo.yaml, 800 events).
    const stored = await readStoredTables(demoDir);
    const expected = replayGenerator(42, 800, new Map([...stored].map(([t, s]) => [t, s.schema])));
    for (const [t, s] of stored) {
      assert.deepEqual(canonRows(s.rows, s.schema), expected.get(t), `${t}: current state equals the replay`);
      assert.equal(rowsNow.get(t), s.rows.length, `${t}: printed rows now`);
    }
    // A directory that is not an earlier demo is left alone.
    await writeFile(join(dir, 'keep.txt'), 'x');
    const refused = spawnSync(process.execPath, [BIN, 'demo', '--dir', dir], { encoding: 'utf8' });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /is not an earlier demo/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

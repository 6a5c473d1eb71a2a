import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/hydrant.js', import.meta.url));

test('hydrant demo runs the example pipeline to completion and reports records in = out per table', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hydrant-demo-'));
  try {
    const demoDir = join(dir, 'demo');
    const run = () => spawnSync(process.execPath, [BIN, 'demo', '--dir', demoDir, '--count', '800'], { encoding: 'utf8', env: { ...process.env, HYDRANT_CRASH_AT: '' } });
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
      }
      assert.equal(total, 800);
      assert.match(r.stdout, /JSON-lines files under/);
      // The lake: Parquet objects, a SQL query over them, and the command to query again.
      assert.match(r.stdout, /lake \(lake\): \d+ objects under/);
      assert.match(r.stdout, /shop\.public\.orders_changes\s+\| insert\s+\| \d+/);
      assert.match(r.stdout, /hydrant query examples\/demo\.yaml "SELECT/);
    }
    assert.ok((await readdir(join(demoDir, 'files'))).length > 0);
    // A directory that is not an earlier demo is left alone.
    await writeFile(join(dir, 'keep.txt'), 'x');
    const refused = spawnSync(process.execPath, [BIN, 'demo', '--dir', dir], { encoding: 'utf8' });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /is not an earlier demo/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

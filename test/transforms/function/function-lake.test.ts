/**
 * The function transform on a delivery edge of a real pipeline (`hydrant run`): its partition
 * keys drive the lake's `{key:NAME}` prefixes, and its ProcessingFailed records land under
 * `errors/<delivery>/processing-failed/` with the transform's name, attempts, reason and timestamps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { listFiles } from '../anonymize/leak-scan-support.ts';

const bin = fileURLToPath(new URL('../../../bin/hydrant.js', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/partition.mjs', import.meta.url));

test('function partition keys feed dynamic partitioning; ProcessingFailed records go to errors/', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-fnlake-'));
  try {
    const file = join(dir, 'p.yaml');
    writeFileSync(
      file,
      `name: fnlake
data_dir: data
lake: { type: fs, path: lake }
streams: { changes: { shards: 1 } }
sources:
  shop: { type: generator, stream: changes, seed: 3, count: 600 }
transforms:
  fn: { type: function, module: ${JSON.stringify(fixture)}, batch_size: 100, concurrency: 2 }
deliveries:
  lake: { type: lake, stream: changes, format: jsonl, compression: none, buffer_interval_s: 0, transforms: [fn], changes_prefix: 'by/{key:parity}/{table}' }
`,
    );
    const r = spawnSync(process.execPath, [bin, 'run', file, '--until-caught-up'], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr.slice(-3000));
    const lake = join(dir, 'data', 'lake');
    const files = listFiles(lake).map((f) => relative(lake, f));
    const objects = files.filter((f) => f.startsWith('by/') && f.endsWith('.jsonl'));
    assert.ok(objects.some((f) => f.startsWith('by/even/customers/')) && objects.some((f) => f.startsWith('by/odd/orders/')), files.join('\n'));
    let rows = 0;
    for (const f of objects) {
      const parity = f.split('/')[1];
      for (const line of readFileSync(join(lake, f), 'utf8').trim().split('\n')) {
        const row = JSON.parse(line) as { _position: string };
        rows++;
        assert.equal(Number(row._position) % 2 === 0 ? 'even' : 'odd', parity, `${f}: row at ${row._position}`);
      }
    }
    const errors = files.filter((f) => f.startsWith('errors/lake/processing-failed/'));
    assert.ok(errors.length > 0, files.join('\n'));
    const e = JSON.parse(readFileSync(join(lake, errors[0] as string), 'utf8')) as Record<string, unknown>;
    assert.equal(e['attempts'], 1);
    assert.equal(e['transform'], 'fn');
    assert.match(String(e['reason']), /function fn: the function returned ProcessingFailed/);
    assert.ok(typeof e['failedAt'] === 'string' && typeof e['arrivalTime'] === 'string');
    console.log(`# ${rows} rows in ${objects.length} objects, ${errors.length} processing-failed records`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

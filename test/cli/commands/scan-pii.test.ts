import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../../bin/hydrant.js', import.meta.url));

test('hydrant scan-pii samples a generator pipeline, lists personal columns with rules, writes nothing, prints no values', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-scan-'));
  try {
    const file = join(dir, 'p.yaml');
    writeFileSync(file, ['name: scan', 'data_dir: data', 'lake: { type: fs, path: lake }', 'streams: { changes: { shards: 1 } }', 'sources:', '  shop: { type: generator, stream: changes, seed: 7, count: 3000 }', ''].join('\n'));
    const r = spawnSync(process.execPath, [bin, 'scan-pii', file, '--sample', '100'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const col of ['customers.name ', 'customers.email ', 'customers.phone ', 'customers.address ', 'customers.birth_date ', 'customers.id ', 'orders.customer_id ']) assert.ok(r.stdout.includes(col), `lists ${col}: ${r.stdout}`);
    assert.match(r.stdout, /shop\.public\.customers\.email\s+email\s+action: pseudonymize/);
    assert.match(r.stdout, /type: anonymize/);
    assert.doesNotMatch(r.stdout, /@[a-z0-9-]+\.[a-z]{2,}/i, 'no sampled email is printed');
    assert.deepEqual(readdirSync(dir), ['p.yaml'], 'sampling writes no data_dir and no lake');
    const bad = spawnSync(process.execPath, [bin, 'scan-pii', file, '--source', 'nope'], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /no source named "nope"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

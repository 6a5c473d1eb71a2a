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
    writeFileSync(file, ['name: scan', 'data_dir: data', 'lake: { type: fs, path: lake }', 'streams: { changes: { shards: 1 } }', 'sources:', '  shop: { type: generator, stream: changes, seed: 7, count: 3000, transforms: [anon] }', 'transforms:', '  anon: { type: anonymize, rules: [{ columns: [email], action: hash }] }', ''].join('\n'));
    const r = spawnSync(process.execPath, [bin, 'scan-pii', file, '--sample', '100'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    for (const col of ['customers.name ', 'customers.email ', 'customers.phone ', 'customers.address ', 'customers.birth_date ', 'customers.id ', 'orders.customer_id ']) assert.ok(r.stdout.includes(col), `lists ${col}: ${r.stdout}`);
    assert.match(r.stdout, /shop\.public\.customers\.email\s+email\s+action: pseudonymize\s+covered by anon\.rules\[0\]: hash \(weak: unkeyed SHA-256/);
    assert.match(r.stdout, /shop\.public\.customers\.phone\s+phone\s+action: tokenize\s+NOT ANONYMIZED/);
    assert.match(r.stdout, /6 column\(s\) are not anonymized/);
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

test('hydrant scan-pii samples a PostgreSQL source read-only (existing rows, no slot, no publication)', async () => {
  const { startPostgres } = await import('../../support/postgres.ts');
  const server = await startPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-scanpg-'));
  try {
    await server.query('CREATE DATABASE crm');
    await server.query(
      `CREATE TABLE people (person_no int PRIMARY KEY, first_name text, contact text, born date, home_ip inet);
       INSERT INTO people SELECT g, 'Name' || g, 'user' || g || '@corp.example', DATE '1970-01-01' + g * 100, ('10.0.0.' || (g % 250))::inet FROM generate_series(1, 50) g;
       CREATE TABLE visits (id int PRIMARY KEY, person_id int, at timestamptz DEFAULT now());
       INSERT INTO visits SELECT g, g % 50 + 1 FROM generate_series(1, 20) g;`,
      [],
      'crm',
    );
    const file = join(dir, 'p.yaml');
    writeFileSync(file, ['name: scanpg', 'data_dir: data', 'streams: { changes: { shards: 1 } }', 'sources:', `  db: { type: postgres, stream: changes, host: ${JSON.stringify(server.host)}, port: ${server.port}, user: ${server.user}, database: crm }`, ''].join('\n'));
    const r = spawnSync(process.execPath, [bin, 'scan-pii', file, '--sample', '30'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /public\.people: 30 rows sampled/);
    assert.match(r.stdout, /db\.public\.people\.first_name\s+name\s+action: redact/);
    assert.match(r.stdout, /db\.public\.people\.contact\s+email\s+action: pseudonymize\s+NOT ANONYMIZED\s+\(100% of 30 sampled values/);
    assert.match(r.stdout, /db\.public\.people\.born\s+birth_date\s+action: generalize, to: year/);
    assert.match(r.stdout, /db\.public\.people\.home_ip\s+ip\s+action: pseudonymize/);
    assert.match(r.stdout, /db\.public\.people\.person_no\s+person_key\s+action: pseudonymize/);
    assert.match(r.stdout, /db\.public\.visits\.person_id\s+person_key\s+action: pseudonymize\s+NOT ANONYMIZED\s+\(references people\)/);
    assert.doesNotMatch(r.stdout, /corp\.example|Name1\b/, 'no sampled value is printed');
    assert.deepEqual(await server.query('SELECT slot_name FROM pg_replication_slots', [], 'crm'), []);
    assert.deepEqual(await server.query('SELECT pubname FROM pg_publication', [], 'crm'), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
});

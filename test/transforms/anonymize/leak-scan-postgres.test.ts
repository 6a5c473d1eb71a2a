/**
 * The leak scan with a PostgreSQL source: a private server, personal data inserted, updated
 * (REPLICA IDENTITY FULL, so before images carry it too) and deleted, captured from the WAL by
 * `hydrant run` with anonymize on the source edge. Every byte under Hydrant's data_dir and
 * lake and its logs is scanned (not the PostgreSQL server's own files: it is the source).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startPostgres } from '../../support/postgres.ts';
import { anonymizeToLakeYaml, listFiles, scanForLeaks } from './leak-scan-support.ts';
import { prng } from '../../support/prng.ts';

const bin = fileURLToPath(new URL('../../../bin/hydrant.js', import.meta.url));
const KEY = 'pg-leak-test-secret-key-a81c44e0';
const SEED = Number(process.env['HYDRANT_TEST_SEED'] ?? 4242);

const FIRST = ['Amelia', 'Bartholomew', 'Cordelia', 'Desmond', 'Evangeline', 'Fitzgerald', 'Guinevere', 'Horatio'];
const LAST = ['Worthington', 'Blackwood', 'Fairweather', 'Ravenscroft', 'Thistlewood', 'Ashbury'];
const STREETS = ['Larkspur Lane', 'Juniper Road', 'Marigold Avenue', 'Wisteria Street'];

test('postgres -> anonymize -> stream -> lake: no original personal data anywhere', async () => {
  console.log(`# seed ${SEED}`);
  const rnd = prng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const server = await startPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-pgleak-'));
  try {
    await server.query('CREATE DATABASE shop');
    await server.query(
      `CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL, phone text, address text, birth_date date);
       ALTER TABLE customers REPLICA IDENTITY FULL;
       CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL, total numeric(10,2) NOT NULL);`,
      [],
      'shop',
    );
    const file = join(dir, 'pipeline.yaml');
    writeFileSync(
      file,
      `name: pgleak
data_dir: data
lake: { type: fs, path: lake }
streams: { changes: { shards: 2 } }
sources:
  db: { type: postgres, stream: changes, host: ${JSON.stringify(server.host)}, port: ${server.port}, user: ${server.user}, database: shop, idle_wait_ms: 300, transforms: [anon] }
${anonymizeToLakeYaml(`{ file: ${JSON.stringify(join(dir, 'key'))} }`)}`,
    );
    writeFileSync(join(dir, 'key'), KEY + '\n');
    const env = { ...process.env, HYDRANT_LOG_LEVEL: 'debug' };
    const run = (): { stdout: string; stderr: string } => {
      const r = spawnSync(process.execPath, [bin, 'run', file, '--until-caught-up'], { encoding: 'utf8', env, timeout: 300_000 });
      assert.equal(r.status, 0, `hydrant run failed:\n${r.stderr.slice(-3000)}`);
      return { stdout: r.stdout, stderr: r.stderr };
    };
    // The first run creates the slot; changes after it are captured.
    const first = run();
    const pii: string[] = [];
    const values: string[] = [];
    for (let i = 1; i <= 150; i++) {
      const name = `${pick(FIRST)} ${pick(LAST)}-${i}`;
      const email = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '.')}@mailhost${i % 7}.example`;
      const phone = `+44 20 ${String(7000 + i).padStart(4, '0')} ${String(Math.floor(rnd() * 10000)).padStart(4, '0')}`;
      const address = `${1 + Math.floor(rnd() * 900)} ${pick(STREETS)}, Flat ${i}`;
      pii.push(name, email, phone, address);
      values.push(`(${i}, '${name}', '${email}', '${phone}', '${address}', DATE '1980-01-01' + ${Math.floor(rnd() * 9000)})`);
    }
    await server.query(`INSERT INTO customers VALUES ${values.join(',')}`, [], 'shop');
    await server.query(`INSERT INTO orders SELECT g, 1 + (g % 150), (g * 7 % 1000) / 10.0 FROM generate_series(1, 300) g`, [], 'shop');
    for (let i = 1; i <= 30; i++) {
      const email = `changed.${i}.${Math.floor(rnd() * 1e6)}@newmail.example`;
      pii.push(email);
      await server.query(`UPDATE customers SET email = $1, address = NULL WHERE id = $2`, [email, i], 'shop');
    }
    await server.query('DELETE FROM orders WHERE id <= 10', [], 'shop');
    await server.query('DELETE FROM customers WHERE id > 140', [], 'shop');
    const second = run();

    const { leaks, files, bytes } = await scanForLeaks([dir], { 'run 1 logs': first.stdout + first.stderr, 'run 2 logs': second.stdout + second.stderr }, [...pii, KEY]);
    console.log(`# scanned ${files} files, ${bytes} bytes and both runs' logs for ${pii.length + 1} values`);
    const written = listFiles(join(dir, 'data'));
    assert.ok(written.some((f) => f.includes('/customers/') && f.endsWith('.parquet')) && written.some((f) => f.includes('jsonl/db/public/customers/') && f.endsWith('.gz')), `customers objects written:\n${written.join('\n')}`);
    // The key file itself is the one place the key may be.
    assert.deepEqual(leaks.filter((l) => !(l.where === 'key' && l.what === KEY)).slice(0, 10), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
});

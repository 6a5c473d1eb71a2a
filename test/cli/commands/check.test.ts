import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, type PostgresServer } from '../../support/postgres.ts';

const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'hydrant.js');

function pipeline(dir: string, s: PostgresServer, db: string): string {
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(file, `name: pgcheck
data_dir: ${join(dir, 'data')}
lake:
  type: fs
  path: lake
streams:
  changes:
    shards: 1
sources:
  pg:
    type: postgres
    stream: changes
    host: ${s.host}
    port: ${s.port}
    user: ${s.user}
    database: ${db}
`);
  return file;
}

function hydrant(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

test('hydrant check: passes on a logical server, warns about a table without a key, says what to change', async () => {
  const s = await startPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-check-'));
  try {
    await s.query('create table keyed (id int primary key); create table nokey (v int)');
    const r = hydrant('check', pipeline(dir, s, 'postgres'));
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /ok +pg: wal_level: wal_level is logical/);
    assert.match(r.out, /WARNING pg: replica_identity: public\.nokey has no primary key .*REPLICA IDENTITY FULL/);
    assert.match(r.out, /WARNING pg: max_slot_wal_keep_size: .*unlimited/);
    assert.match(r.out, /all checks passed/);

    await s.query(`select pg_create_logical_replication_slot('hydrant_pg', 'pgoutput')`);
    await s.query(`create publication hydrant_pg for all tables`);
    // A slot in use is never dropped.
    const holder = spawn(join(s.binDir, 'pg_recvlogical'), ['-h', s.host, '-p', String(s.port), '-U', s.user, '-d', 'postgres', '--slot', 'hydrant_pg', '--start', '-o', 'proto_version=1', '-o', 'publication_names=hydrant_pg', '-f', '/dev/null'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && (await s.query(`select 1 from pg_replication_slots where active`)).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      const busy = hydrant('drop-slot', pipeline(dir, s, 'postgres'));
      assert.equal(busy.code, 1, busy.out);
      assert.match(busy.out, /replication slot hydrant_pg is in use by a running pipeline: stop it first/);
    } finally {
      holder.kill('SIGINT');
      await new Promise((r) => holder.once('exit', r));
    }
    for (let i = 0; i < 200 && (await s.query(`select 1 from pg_replication_slots where active`)).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    const d = hydrant('drop-slot', pipeline(dir, s, 'postgres'), '--publication');
    assert.equal(d.code, 0, d.out);
    assert.match(d.out, /pg: dropped slot hydrant_pg and publication hydrant_pg/);
    assert.equal((await s.query(`select * from pg_replication_slots`)).length, 0);
    const again = hydrant('drop-slot', pipeline(dir, s, 'postgres'));
    assert.match(again.out, /pg: nothing to drop/);
  } finally {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hydrant check: fails on wal_level=replica and names the fix', async () => {
  const s = await startPostgres({ settings: { wal_level: 'replica' } });
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-check-'));
  try {
    const r = hydrant('check', pipeline(dir, s, 'postgres'));
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /ERROR +pg: wal_level: wal_level is replica: set wal_level = logical/);
  } finally {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

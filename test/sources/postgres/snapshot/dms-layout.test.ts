/**
 * With the lake delivery's DMS layout, the initial load's `op: snapshot` rows land in
 * `LOAD0000000N` objects beside the timestamped change objects, as AWS DMS writes a full load
 * followed by CDC, and together they hold every row exactly once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAppServer, testDir } from './helpers.ts';
import { hydrant } from './lake-pipeline.ts';

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]));
}

test('DMS layout: snapshot rows become LOAD0000000N objects, changes timestamped objects', async (t) => {
  const server = await startAppServer(t);
  const dir = testDir(t, 'hydrant-snapdms-');
  await server.query('create table t (id bigint primary key, v int not null, note text)', [], 'app');
  await server.query(`insert into t select g, g, 'row ' || g from generate_series(1, 5000) g`, [], 'app');
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(file, `name: snapdms
data_dir: ${join(dir, 'data')}
lake: { type: fs, path: ${join(dir, 'lake')} }
streams: { changes: { shards: 1 } }
sources:
  pg: { type: postgres, stream: changes, host: ${server.host}, port: ${server.port}, user: ${server.user}, database: app, idle_wait_ms: 200, snapshot: initial, snapshot_chunk_rows: 1000 }
deliveries:
  lake: { type: lake, stream: changes, buffer_interval_s: 0, layout: dms, format: csv, compression: none }
`);
  const r1 = hydrant({}, 'run', file, '--until-caught-up');
  assert.equal(r1.code, 0, r1.err);
  await server.query(`update t set v = -1 where id <= 3`, [], 'app');
  const r2 = hydrant({}, 'run', file, '--until-caught-up');
  assert.equal(r2.code, 0, r2.err);
  const files = walk(join(dir, 'lake')).map((f) => f.slice(join(dir, 'lake').length + 1)).filter((f) => f.includes('public/t/'));
  const loads = files.filter((f) => /\/LOAD\d{8}\.csv$/.test(f));
  const changes = files.filter((f) => /\/\d{8}-\d{9}-/.test(f));
  assert.ok(loads.length >= 1, files.join('\n'));
  assert.ok(changes.length >= 1, files.join('\n'));
  const q = hydrant({}, 'query', file, `select count(*)::int n from pg.public.t_changes where _op = 'snapshot'`, '--format', 'json');
  assert.equal(q.code, 0, q.err);
  assert.deepEqual(JSON.parse(q.out.trim()), { n: 5000 });
});

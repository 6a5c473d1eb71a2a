/**
 * `hydrant drop-slot FILE [SOURCE] [--publication]` against a private PostgreSQL: drops the
 * source's slot (and publication when asked), says so, and reports what is not there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hydrant, writePipeline } from '../../sources/postgres/snapshot/lake-pipeline.ts';
import { startAppServer, testDir } from '../../sources/postgres/snapshot/helpers.ts';

test('hydrant drop-slot: drops the slot, then the publication with --publication; unknown source exits 1', async (t) => {
  const server = await startAppServer(t);
  const dir = testDir(t, 'hydrant-dropslot-');
  const file = writePipeline(dir, server, 'app', {});
  await server.query('create table t (id int primary key)', [], 'app');
  await server.query('create publication hydrant_pg for table t', [], 'app');
  await server.query(`select pg_create_logical_replication_slot('hydrant_pg', 'pgoutput')`, [], 'app');
  const slots = async (): Promise<string[]> => (await server.query<{ slot_name: string }>('select slot_name from pg_replication_slots order by 1', [], 'app')).map((r) => r.slot_name);
  const pubs = async (): Promise<string[]> => (await server.query<{ pubname: string }>('select pubname from pg_publication order by 1', [], 'app')).map((r) => r.pubname);

  const unknown = hydrant({}, 'drop-slot', file, 'nope');
  assert.equal(unknown.code, 1, unknown.err);
  assert.match(unknown.err, /has no postgres source named nope/);
  assert.deepEqual(await slots(), ['hydrant_pg']);

  const first = hydrant({}, 'drop-slot', file);
  assert.equal(first.code, 0, first.err + first.out);
  assert.equal(first.out, 'pg: dropped slot hydrant_pg\n');
  assert.deepEqual(await slots(), []);
  assert.deepEqual(await pubs(), ['hydrant_pg'], 'the publication stays without --publication');

  const second = hydrant({}, 'drop-slot', file, 'pg', '--publication');
  assert.equal(second.code, 0, second.err + second.out);
  assert.equal(second.out, 'pg: dropped publication hydrant_pg\n');
  assert.deepEqual(await pubs(), []);

  const again = hydrant({}, 'drop-slot', file);
  assert.equal(again.code, 0, again.err + again.out);
  assert.equal(again.out, 'pg: nothing to drop\n');
});

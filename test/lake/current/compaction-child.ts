/**
 * Child process of the compaction crash tests: compacts the change objects of the lake in
 * `<dir>` (embedded state store + local lake). `HYDRANT_CRASH_AT` kills it at a crash point.
 * Usage: node --import tsx compaction-child.ts DIR TARGET_BYTES
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { EmbeddedStateStore } from '../../../src/state/embedded/embedded-state-store.ts';
import { FsObjectStore } from '../../../src/lake/fs/fs-object-store.ts';
import { compactChangeObjects } from '../../../src/lake/current/compaction.ts';

const [dir, target] = process.argv.slice(2) as [string, string];
const state = await EmbeddedStateStore.open({ dataDir: join(dir, 'data') });
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
const r = await compactChangeObjects({ state, lake: new FsObjectStore(join(dir, 'lake')), conn, tmpDir: join(dir, 'tmp') }, { targetBytes: Number(target), graceMs: 0 });
conn.closeSync();
db.closeSync();
await state.close();
process.stdout.write(`${JSON.stringify(r)}\n`);

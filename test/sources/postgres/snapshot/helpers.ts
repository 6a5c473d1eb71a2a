/**
 * Helpers for the snapshot tests: a private server with database `app` and a temp dir that go
 * away with the test, a seeded writer that inserts, updates and deletes rows of a table until
 * stopped, and the comparison of a merged table with `SELECT *`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startPostgres, type PostgresServer } from '../../../support/postgres.ts';
import { prng } from '../../../support/prng.ts';

/** A private PostgreSQL server with an empty database `app`, stopped when test `t` ends. */
export async function startAppServer(t: TestContext): Promise<PostgresServer> {
  const server = await startPostgres();
  t.after(() => server.stop());
  await server.query('create database app');
  return server;
}

/** A fresh temp dir (`prefix` + random), removed when test `t` ends. */
export function testDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The seed of a test run (TEST_SEED or random), printed so a failure can be replayed. */
export function testSeed(name: string): number {
  const seed = Number(process.env['TEST_SEED'] ?? Math.floor(Math.random() * 1e9));
  console.log(`# ${name}: seed ${seed} (TEST_SEED=${seed} to replay)`);
  return seed;
}

/** A running writer. */
export interface Writer {
  /** Stops after the statement in flight; resolves with how many transactions ran. */
  stop(): Promise<{ transactions: number; inserts: number; updates: number; deletes: number }>;
  /** Transactions so far. */
  readonly count: number;
}

/**
 * Writes to `table (id bigint primary key, v int, note text)` until stopped: small transactions
 * of inserts (new ids above `firstNewId`), updates and deletes of random ids in `1..maxId`.
 */
export async function startWriter(server: PostgresServer, db: string, table: string, seed: number, firstNewId: number, maxId: number): Promise<Writer> {
  const rnd = prng(seed);
  const c = new pg.Client(server.connection(db));
  await c.connect();
  let stopping = false;
  let count = 0;
  const stats = { inserts: 0, updates: 0, deletes: 0 };
  let next = firstNewId;
  let stopped: Promise<{ transactions: number; inserts: number; updates: number; deletes: number }> | undefined;
  const loop = (async () => {
    while (!stopping) {
      const stmts: string[] = [];
      for (let i = 0; i < 1 + Math.floor(rnd() * 3); i++) {
        const r = rnd();
        const id = 1 + Math.floor(rnd() * Math.max(maxId, next - 1));
        if (r < 0.35) {
          stmts.push(`insert into ${table} values (${next++}, ${Math.floor(rnd() * 1e6)}, 'new ${Math.floor(rnd() * 1e9).toString(36)}')`);
          stats.inserts++;
        } else if (r < 0.8) {
          stmts.push(`update ${table} set v = v + 1, note = 'upd ${Math.floor(rnd() * 1e9).toString(36)}' where id = ${id}`);
          stats.updates++;
        } else {
          stmts.push(`delete from ${table} where id = ${id}`);
          stats.deletes++;
        }
      }
      await c.query(`begin; ${stmts.join('; ')}; commit`);
      count++;
      // A short pause now and then so the writer does not starve the 2-core machine.
      if (count % 20 === 0) await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    get count() {
      return count;
    },
    stop() {
      // Idempotent: a test may stop the writer mid-way and again in its cleanup.
      stopped ??= (async () => {
        stopping = true;
        await loop;
        await c.end();
        return { transactions: count, ...stats };
      })();
      return stopped;
    },
  };
}

/** `SELECT *` of the test table as canonical lines `id|v|note`, sorted. */
export async function tableLines(server: PostgresServer, db: string, table: string): Promise<string[]> {
  const rows = await server.query<{ r: string }>(`select concat_ws('|', id, v, coalesce(note, '∅')) as r from ${table}`, [], db);
  return rows.map((x) => x.r).sort();
}

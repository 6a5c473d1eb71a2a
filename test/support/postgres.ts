/**
 * Starts a private PostgreSQL server for integration tests: `initdb` into a fresh temp dir,
 * its own port and unix-socket dir, `wal_level=logical`, fsync off. PostgreSQL refuses to run
 * as root, so when the tests run as root the server runs as the system user `hydrant-test`
 * (created with `useradd` when missing). Missing binaries FAIL loudly: a test that needs a
 * server must never pass without one.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** A running private PostgreSQL server. */
export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  /** Superuser name (trust authentication, no password). */
  readonly user: string;
  readonly binDir: string;
  readonly dataDir: string;
  /** Connection settings for the `postgres` source config or `pg.Client`. */
  connection(database?: string): { host: string; port: number; user: string; database: string };
  /** Runs SQL on a fresh connection and returns the rows (values parsed by `pg`'s defaults). */
  query<R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[], database?: string): Promise<R[]>;
  /** Fast shutdown, then removes every file. */
  stop(): Promise<void>;
}

const TEST_USER = 'hydrant-test';

/** Finds the PostgreSQL 15 binaries or throws with what to install. */
export function postgresBinDir(): string {
  const candidates: string[] = [];
  if (process.env['HYDRANT_PG_BIN']) candidates.push(process.env['HYDRANT_PG_BIN']);
  const r = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (r.status === 0) candidates.push(r.stdout.trim());
  candidates.push('/usr/lib/postgresql/15/bin');
  for (const c of candidates) if (existsSync(join(c, 'initdb')) && existsSync(join(c, 'postgres'))) return c;
  throw new Error(`PostgreSQL server binaries not found (looked in ${candidates.join(', ')}): install postgresql-15 (initdb, postgres) or set HYDRANT_PG_BIN`);
}

function ensureTestUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let id = spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' });
  if (id.status !== 0) {
    // Several test files may race to create the user; a second useradd failing is fine.
    spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', TEST_USER], { encoding: 'utf8' });
    id = spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' });
    if (id.status !== 0) throw new Error(`cannot create system user ${TEST_USER} to run PostgreSQL (it refuses root): ${id.stderr}`);
  }
  const gid = spawnSync('id', ['-g', TEST_USER], { encoding: 'utf8' });
  return { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Starts a private server; `settings` are extra `-c name=value` server settings. */
export async function startPostgres(options: { settings?: Record<string, string> } = {}): Promise<PostgresServer> {
  const binDir = postgresBinDir();
  const owner = ensureTestUser();
  const root = mkdtempSync(join(tmpdir(), 'hydrant-pg-'));
  const dataDir = join(root, 'data');
  const run = owner === undefined ? {} : { uid: owner.uid, gid: owner.gid };
  if (owner !== undefined) chownSync(root, owner.uid, owner.gid);
  const cleanup = (): void => rmSync(root, { recursive: true, force: true });
  const init = spawnSync(join(binDir, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'], { encoding: 'utf8', ...run });
  if (init.status !== 0) {
    cleanup();
    throw new Error(`initdb failed (exit ${init.status}): ${init.stderr || init.error?.message}`);
  }
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: root,
    wal_level: 'logical',
    max_replication_slots: '20',
    max_wal_senders: '20',
    fsync: 'off',
    full_page_writes: 'off',
    synchronous_commit: 'off',
    shared_buffers: '64MB',
    max_connections: '50',
    ...options.settings,
  };
  let lastErr = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const args = ['-D', dataDir, '-p', String(port)];
    for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);
    const child = spawn(join(binDir, 'postgres'), args, { stdio: ['ignore', 'ignore', 'pipe'], ...run });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 20_000) stderr += d.toString();
    });
    const ready = await waitReady(child, port);
    if (ready) return makeServer(child, root, dataDir, binDir, port, cleanup);
    lastErr = stderr;
    await stopChild(child);
    if (!/could not bind|address already in use/i.test(stderr)) break;
  }
  cleanup();
  throw new Error(`PostgreSQL did not start: ${lastErr.slice(-2000)}`);
}

async function waitReady(child: ChildProcess, port: number): Promise<boolean> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) return false;
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
    try {
      await c.connect();
      await c.end();
      return true;
    } catch {
      await c.end().catch(() => {});
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return false;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGINT');
  const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(t);
}

function makeServer(child: ChildProcess, root: string, dataDir: string, binDir: string, port: number, cleanup: () => void): PostgresServer {
  const host = '127.0.0.1';
  return {
    host,
    port,
    user: 'postgres',
    binDir,
    dataDir,
    connection: (database = 'postgres') => ({ host, port, user: 'postgres', database }),
    async query(sql, params, database = 'postgres') {
      const c = new pg.Client({ host, port, user: 'postgres', database });
      await c.connect();
      try {
        return (await c.query(sql, params)).rows;
      } finally {
        await c.end();
      }
    },
    async stop() {
      await stopChild(child);
      cleanup();
      void root;
    },
  };
}

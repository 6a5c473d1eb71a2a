/**
 * The short-lived normal connection of the PostgreSQL admin commands (`check`, `drop-slot`,
 * `resnapshot`): opened with the source's own settings and password, closed whatever happens.
 */
import pg from 'pg';
import { ConnectionError } from '../../core/errors.ts';
import { resolveNames, type PostgresConfig } from './config.ts';

/** The source's resolved slot and publication names. */
export interface SourceNames {
  readonly slot: string;
  readonly publication: string;
}

/**
 * Connects to source `name`'s database (`application_name` is `hydrant <purpose> <name>`), runs
 * `fn`, and closes the connection. A failed connect throws a ConnectionError naming the server.
 */
export async function withAdminClient<T>(name: string, c: PostgresConfig, purpose: string, fn: (client: pg.Client, names: SourceNames) => Promise<T>): Promise<T> {
  const names = resolveNames(c, name);
  const client = new pg.Client({ host: c.host, port: c.port, database: c.database, user: c.user, password: names.password, application_name: `hydrant ${purpose} ${name}` });
  try {
    await client.connect();
  } catch (err) {
    throw new ConnectionError(`source ${name}: cannot connect to PostgreSQL at ${c.host}:${c.port}/${c.database} as ${c.user}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return await fn(client, names);
  } finally {
    await client.end().catch(() => {});
  }
}

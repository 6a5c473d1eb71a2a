/**
 * Configuration of the `postgres` source, and the table/column selection it implies.
 */
import { z } from 'zod';
import { ConfigError } from '../../core/errors.ts';
import { snapshotConfigFields } from './snapshot/snapshot-config.ts';

/** The `postgres` source's config schema (without `type`). */
export const postgresConfig = z.strictObject({
  host: z.string().min(1).default('localhost').describe('Server host name or address.'),
  port: z.number().int().min(1).max(65535).default(5432).describe('Server port.'),
  database: z.string().min(1).describe('Database to capture (one source captures one database).'),
  user: z.string().min(1).default('postgres').describe('Role to connect as; it needs the REPLICATION attribute (or superuser) and SELECT on the captured tables.'),
  password_env: z.string().min(1).optional().describe('Name of the environment variable that holds the password (the password itself never goes into the pipeline file).'),
  slot: z.string().regex(/^[a-z0-9_]{1,63}$/).optional().describe('Replication slot name; default `hydrant_<source name>`. Created when missing, reused on restart, dropped only by `hydrant drop-slot`.'),
  publication: z.string().min(1).max(63).optional().describe('Publication name; default `hydrant_<source name>`. Created when missing.'),
  include: z.array(z.string().min(1)).default(['public.*']).describe('`schema.table` patterns to capture (`*` matches any run of characters, `?` one).'),
  exclude: z.array(z.string().min(1)).default([]).describe('`schema.table` patterns never captured, even when included.'),
  exclude_columns: z.array(z.string().min(1)).default([]).describe('`schema.table.column` patterns whose values are dropped in the source (they never reach the stream).'),
  publication_mode: z.enum(['auto', 'all_tables', 'table_list']).default('auto').describe('`all_tables`: FOR ALL TABLES (superuser; new tables are captured from their first row); `table_list`: the publication lists the matching tables and new matching tables are added as they appear; `auto`: all_tables when the role is superuser.'),
  protocol: z.union([z.literal(1), z.literal(2)]).default(2).describe('pgoutput protocol version; 2 streams large in-progress transactions, which Hydrant spills to disk under data_dir.'),
  toast: z.enum(['unchanged', 'fetch']).default('unchanged').describe('Updates that leave a large (TOASTed) value unchanged do not carry it: `unchanged` lists the column in the event (the current-state merge keeps the old value); `fetch` reads the current value from the table (the row as it is now, not as of the change).'),
  max_batch_events: z.number().int().min(1).max(1_000_000).default(20_000).describe('Most events per batch handed to the stream.'),
  status_interval_ms: z.number().int().min(100).default(10_000).describe('How often the confirmed flush position is reported to the server even when nothing changed.'),
  heartbeat_interval_ms: z.number().int().min(0).default(10_000).describe('When idle, emit a heartbeat (pg_logical_emit_message) this often so the slot advances while other databases write; 0 = off.'),
  slot_check_interval_ms: z.number().int().min(100).default(10_000).describe('How often slot lag, wal_status and safe_wal_size are read for metrics and warnings.'),
  slot_lag_warn_bytes: z.number().int().min(0).default(1024 * 1024 * 1024).describe('Warn when the slot retains more WAL than this.'),
  ...snapshotConfigFields,
  idle_wait_ms: z.number().int().min(1).default(1000).describe('How long next() waits for changes before returning an empty batch (caughtUp only once the stream reached the server WAL flush position).'),
});

/** Parsed config. */
export type PostgresConfig = z.output<typeof postgresConfig>;

/** Compiles `*`/`?` glob patterns to one anchored regular expression. */
export function globsToRegExp(patterns: readonly string[]): RegExp | undefined {
  if (patterns.length === 0) return undefined;
  const parts = patterns.map((p) => p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.'));
  return new RegExp(`^(?:${parts.join('|')})$`);
}

/** Which tables and columns a source captures. */
export class TableSelection {
  readonly #include: RegExp | undefined;
  readonly #exclude: RegExp | undefined;
  readonly #excludeColumns: RegExp | undefined;

  constructor(c: Pick<PostgresConfig, 'include' | 'exclude' | 'exclude_columns'>) {
    this.#include = globsToRegExp(c.include);
    this.#exclude = globsToRegExp(c.exclude);
    this.#excludeColumns = globsToRegExp(c.exclude_columns);
  }

  /** true when `schema.table` is captured. */
  table(schema: string, table: string): boolean {
    const name = `${schema}.${table}`;
    return this.#include !== undefined && this.#include.test(name) && !(this.#exclude?.test(name) ?? false);
  }

  /** true when the column's values are captured. */
  column(schema: string, table: string, column: string): boolean {
    return !(this.#excludeColumns?.test(`${schema}.${table}.${column}`) ?? false);
  }
}

/** Resolved names and the password (read from the environment, never logged). */
export function resolveNames(c: PostgresConfig, sourceName: string): { slot: string; publication: string; password: string | undefined } {
  const base = `hydrant_${sourceName.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
  let password: string | undefined;
  if (c.password_env !== undefined) {
    password = process.env[c.password_env];
    if (password === undefined) {
      throw new ConfigError([{ file: '', line: undefined, path: `sources.${sourceName}.password_env`, message: `environment variable ${c.password_env} is not set: export it with the PostgreSQL password` }]);
    }
  }
  return { slot: c.slot ?? base, publication: c.publication ?? base, password };
}

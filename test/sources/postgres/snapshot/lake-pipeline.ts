/**
 * The end-to-end pieces of the snapshot tests: a pipeline file (PostgreSQL → embedded stream →
 * lake), `hydrant` runs in child processes (blocking or in the background), and the merged
 * current-state table read back with `hydrant query`.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HYDRANT_BIN, startNode } from '../../../support/child-process.ts';
import type { PostgresServer } from '../../../support/postgres.ts';

/** Options of {@link writePipeline} beyond the source's keys. */
export interface PipelineOptions {
  /** The pipeline's name (default `snaptest`). */
  readonly name?: string;
  /** Extra keys of the lake delivery (e.g. `format`), over `buffer_interval_s: 0`. */
  readonly delivery?: Record<string, string | number>;
}

/**
 * Writes `pipeline.yaml` in `dir`: PostgreSQL database `db` of `server` → stream `changes` (2
 * shards) → lake delivery to `dir/lake`, data in `dir/data`. `source` holds extra postgres
 * source keys (over `idle_wait_ms: 200`).
 */
export function writePipeline(dir: string, server: PostgresServer, db: string, source: Record<string, string | number>, options: PipelineOptions = {}): string {
  const file = join(dir, 'pipeline.yaml');
  const sourceKeys = Object.entries({ idle_wait_ms: 200, ...source }).map(([k, v]) => `    ${k}: ${v}`).join('\n');
  const deliveryKeys = Object.entries({ buffer_interval_s: 0, ...options.delivery }).map(([k, v]) => `, ${k}: ${v}`).join('');
  writeFileSync(file, `name: ${options.name ?? 'snaptest'}
data_dir: ${join(dir, 'data')}
lake: { type: fs, path: ${join(dir, 'lake')} }
streams: { changes: { shards: 2 } }
sources:
  pg:
    type: postgres
    stream: changes
    host: ${server.host}
    port: ${server.port}
    user: ${server.user}
    database: ${db}
${sourceKeys}
deliveries:
  lake: { type: lake, stream: changes${deliveryKeys} }
`);
  return file;
}

/** Runs hydrant to completion. */
export function hydrant(env: Record<string, string>, ...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [HYDRANT_BIN, ...args], { encoding: 'utf8', env: { ...process.env, HYDRANT_LOG_LEVEL: 'warn', HYDRANT_CRASH_AT: '', ...env }, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Runs hydrant in the background; `done` resolves when it exits. */
export function hydrantAsync(env: Record<string, string>, ...args: string[]): { done: Promise<{ code: number | null; signal: string | null; err: string }>; kill(sig: NodeJS.Signals): void; stderr(): string } {
  const child = startNode([HYDRANT_BIN, ...args], { env: { ...process.env, HYDRANT_LOG_LEVEL: 'warn', HYDRANT_CRASH_AT: '', ...env } });
  const done = child.done.then(({ code, signal, stderr }) => ({ code, signal, err: stderr }));
  return { done, kill: (sig) => child.kill(sig), stderr: () => child.stderr() };
}

/** JSON log lines of a run's stderr with the given message. */
export function logLines(stderr: string, msg: string): Array<Record<string, unknown>> {
  return stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).filter((j) => j['msg'] === msg);
}

/** The merged table `pg.public.<table>` as canonical lines `id|v|note`, sorted. */
export function lakeLines(file: string, table: string): string[] {
  const q = hydrant({}, 'query', file, `select concat_ws('|', id, v, coalesce(note, '∅')) r from pg.public.${table}`, '--format', 'json');
  if (q.code !== 0) throw new Error(`hydrant query failed: ${q.err}`);
  return q.out.split('\n').filter((l) => l.trim() !== '').map((l) => (JSON.parse(l) as { r: string }).r).sort();
}

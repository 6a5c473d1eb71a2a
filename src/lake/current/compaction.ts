/**
 * Compaction of small change objects into larger ones. Objects of the same delivery, shard,
 * table, partition, schema version, format and compression are concatenated in sequence order
 * (Parquet through DuckDB, JSONL as text) until a target size, and the catalog is switched in
 * one conditional state-store transaction: the new entry in, the old entries out, a record of
 * which entries the new one replaced (so the merge job knows whether it was merged), and the
 * old objects listed for deletion after the grace period. Readers of the catalog see the old
 * objects or the new one, never both and never neither.
 *
 * A compaction writes its object under an intent (`current/_compaction/intent`), so one that
 * dies between writing and committing leaves nothing behind: the next run deletes the object.
 */
import { posix } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { crashPoint } from '../../core/crash.ts';
import type { Metrics } from '../../core/metrics.ts';
import type { StateOp, StateStore, StateValue } from '../../state/state-store.ts';
import type { ObjectStore } from '../object-store.ts';
import { padSequence, type CatalogObject } from '../catalog/catalog.ts';
import { compress, decompress, type Compression } from '../../delivery/compression.ts';
import { changeEntries } from './merge-job.ts';
import { compactedPrefix } from './compaction-records.ts';
import { localCopy, tempPath, uploadFile } from './local-files.ts';
import { literal } from './parquet-rows.ts';
import type { RetiredFiles } from './manifest.ts';

/** Crash points of a compaction, for kill -9 tests. */
export const COMPACTION_CRASH_POINTS = ['current.compact.files-written', 'current.compact.catalog-committed'] as const;

const INTENT = 'current/_compaction/intent';
const RETIRED = 'current/_compaction/retired/';

/** Settings of one compaction run. */
export interface CompactionOptions {
  /** Size an object should reach; objects at or above half of it are left alone. */
  readonly targetBytes: number;
  /** How long replaced objects stay readable, in ms. */
  readonly graceMs: number;
  readonly now?: () => number;
  readonly metrics?: Metrics;
}

/** What a compaction run did. */
export interface CompactionReport {
  /** New objects written. */
  readonly compacted: number;
  /** Small objects they replaced. */
  readonly replaced: number;
  /** Objects deleted (replaced ones past the grace period, leftovers of a dead run). */
  readonly deleted: number;
}

interface Entry {
  readonly key: string;
  readonly object: CatalogObject;
}

/** Compacts every run of small change objects; see the module documentation. */
export async function compactChangeObjects(deps: { readonly state: StateStore; readonly lake: ObjectStore; readonly conn: DuckDBConnection; readonly tmpDir: string }, opts: CompactionOptions): Promise<CompactionReport> {
  const now = opts.now ?? Date.now;
  let deleted = await recover(deps.state, deps.lake);
  deleted += await deleteRetired(deps.state, deps.lake, opts.graceMs, now());
  let compacted = 0;
  let replaced = 0;
  for (const run of planRuns(await changeEntries(deps.state), opts.targetBytes)) {
    const first = run[0] as Entry;
    const last = run[run.length - 1] as Entry;
    const o = first.object;
    const ext = o.key.slice(o.key.indexOf('.', o.key.lastIndexOf('/')));
    const key = posix.join(posix.dirname(o.key), `${o.delivery}-${o.shard}-${o.firstSequence}-${last.object.lastSequence}-c${run.length}${ext}`);
    await deps.state.commit([{ type: 'put', key: INTENT, value: { key } }]);
    const { bytes, rows } = await writeCompacted(deps, run, key);
    crashPoint('current.compact.files-written');
    const entryKey = `${first.key}~c${padSequence(last.object.lastSequence)}`;
    const objects = run.map((e) => e.object);
    const merged: CatalogObject = {
      ...o,
      key,
      rows,
      bytes,
      lastSequence: last.object.lastSequence,
      minTime: Math.min(...objects.map((x) => x.minTime)),
      maxTime: Math.max(...objects.map((x) => x.maxTime)),
      committedAt: Math.max(...objects.map((x) => x.committedAt)),
    };
    const ops: StateOp[] = [
      ...run.map((e): StateOp => ({ type: 'delete', key: e.key })),
      { type: 'put', key: entryKey, value: merged as unknown as StateValue },
      { type: 'put', key: `${compactedPrefix(o.table)}${entryKey}`, value: { from: run.map((e) => e.key) } },
      { type: 'put', key: `${RETIRED}${padSequence(String(now()))}-${entryKey.replace(/\//g, '|')}`, value: { files: run.map((e) => e.object.key), retiredAt: now() } },
      { type: 'delete', key: INTENT },
    ];
    await deps.state.commit(ops, run.map((e) => ({ key: e.key, equals: e.object as unknown as StateValue })));
    crashPoint('current.compact.catalog-committed');
    compacted++;
    replaced += run.length;
    opts.metrics?.inc('hydrant_compaction_objects_total', 'Small change objects replaced by compaction.', { table: o.table }, run.length);
  }
  deleted += await deleteRetired(deps.state, deps.lake, opts.graceMs, now());
  return { compacted, replaced, deleted };
}

/** Runs of at least two small objects that belong together, each up to about the target size. */
export function planRuns(entries: readonly Entry[], targetBytes: number): Entry[][] {
  const groups = new Map<string, Entry[]>();
  for (const e of entries) {
    const o = e.object;
    if (o.format !== 'parquet' && o.format !== 'jsonl') continue;
    const g = JSON.stringify([o.delivery, o.shard, o.table, o.partition, o.schemaVersion, o.format, o.compression]);
    let list = groups.get(g);
    if (list === undefined) groups.set(g, (list = []));
    list.push(e);
  }
  const runs: Entry[][] = [];
  for (const list of groups.values()) {
    list.sort((a, b) => (padSequence(a.object.firstSequence) < padSequence(b.object.firstSequence) ? -1 : 1));
    let run: Entry[] = [];
    let size = 0;
    const close = (): void => {
      if (run.length >= 2) runs.push(run);
      run = [];
      size = 0;
    };
    for (const e of list) {
      if (e.object.bytes >= targetBytes / 2) {
        close();
        continue;
      }
      run.push(e);
      size += e.object.bytes;
      if (size >= targetBytes) close();
    }
    close();
  }
  return runs;
}

async function writeCompacted(deps: { readonly lake: ObjectStore; readonly conn: DuckDBConnection; readonly tmpDir: string }, run: readonly Entry[], key: string): Promise<{ bytes: number; rows: number }> {
  const o = (run[0] as Entry).object;
  const rows = run.reduce((n, e) => n + e.object.rows, 0);
  if (o.format === 'jsonl') {
    const parts: Uint8Array[] = [];
    for (const e of run) parts.push(await decompress(o.compression as Compression, await deps.lake.get(e.object.key)));
    const body = await compress(o.compression as Compression, Buffer.concat(parts));
    return { bytes: (await deps.lake.put(key, body, { contentType: 'application/x-ndjson' })).size, rows };
  }
  const locals = [];
  try {
    for (const e of run) locals.push(await localCopy(deps.lake, e.object.key, deps.tmpDir));
    const out = tempPath(deps.tmpDir);
    const codec = o.compression === 'none' ? 'uncompressed' : o.compression;
    await deps.conn.run(`COPY (SELECT * FROM read_parquet([${locals.map((l) => literal(l.path)).join(', ')}], union_by_name = true)) TO ${literal(out)} (FORMAT parquet, COMPRESSION ${codec})`);
    return { bytes: await uploadFile(deps.lake, out, key), rows };
  } finally {
    for (const l of locals) await l.release();
  }
}

/** Deletes the object of a compaction that died before its commit. */
async function recover(state: StateStore, lake: ObjectStore): Promise<number> {
  const intent = (await state.get(INTENT)) as { key: string } | undefined;
  if (intent === undefined) return 0;
  const cataloged = (await changeEntries(state)).some((e) => e.object.key === intent.key);
  if (!cataloged) await lake.delete(intent.key);
  await state.commit([{ type: 'delete', key: INTENT }], [{ key: INTENT, equals: intent }]);
  return cataloged ? 0 : 1;
}

async function deleteRetired(state: StateStore, lake: ObjectStore, graceMs: number, now: number): Promise<number> {
  let n = 0;
  for (const { key, value } of await state.list(RETIRED)) {
    const r = value as unknown as RetiredFiles;
    if (r.retiredAt + graceMs > now) continue;
    for (const f of r.files) {
      await lake.delete(f);
      n++;
    }
    await state.commit([{ type: 'delete', key }]);
  }
  return n;
}

/**
 * Manifests of current-state tables, kept in the state store. A table version is the set of
 * Parquet files listed by one manifest; switching versions is one conditional state-store
 * commit of the `head` pointer, so readers see the old set or the new set, never a mix.
 *
 * State-store keys (`<table>` is `source.schema.table`, versions are 10-digit zero-padded):
 * - `current/<table>/head`                 `{ "version": N }` — the readable version
 * - `current/<table>/versions/<N>`         the {@link Manifest} of version N
 * - `current/<table>/retired/<N>`          files version N replaced, deleted after the grace period
 *
 * Objects live under `databases/<source>/<schema>/<table>/current/` in the lake, one file per
 * hash bucket of the primary key: `data/b<BBBB>/v<N>-<attempt>.parquet` (not `bucket=` hive style, so
 * engines do not add a `bucket` column that could clash with a real one). See
 * docs/current-state.md for the full format.
 */
import type { StateStore, StateValue } from '../../state/state-store.ts';
import { tableId } from '../../core/schema.ts';
import type { TableMarks } from './shard-marks.ts';

/** Identifies a captured table. */
export interface TableRef {
  readonly source: string;
  readonly schema: string;
  readonly table: string;
}

/** One Parquet file of a table version. */
export interface ManifestFile {
  /** Hash bucket of the primary key (see `row-key.ts`). */
  readonly bucket: number;
  /** Object key in the lake. */
  readonly key: string;
  readonly rows: number;
  readonly bytes: number;
  /** Schema version the file's columns follow. */
  readonly schemaVersion: number;
}

/** One version of a current-state table. */
export interface Manifest {
  /** Manifest format version (this is 1). */
  readonly format: 1;
  readonly table: TableRef;
  /** 1, 2, ...; version 0 is the empty table before the first merge. */
  readonly version: number;
  /** Number of key-hash buckets; fixed when the table is created. */
  readonly buckets: number;
  /** Schema version of the newest file (columns of older files are a prefix of it). */
  readonly schemaVersion: number;
  /** Position of the newest merged change; changes at or below it are skipped. */
  readonly highWater: string | null;
  /** Files sorted by bucket; at most one per bucket. */
  readonly files: readonly ManifestFile[];
  /** Total rows. */
  readonly rows: number;
  /** Where the merge job stands in the lake catalog (opaque to the engine). */
  readonly checkpoint: StateValue;
  /** When this version was committed (ISO 8601). */
  readonly committedAt: string;
  /** Commit time of the newest merged change in the source (ISO 8601), or null. */
  readonly sourceCommitTime: string | null;
  /**
   * Per-shard high-water marks (`shard-marks.ts`), written by the merge job; absent in
   * manifests from before them and after a merge of bare events, where the table-wide
   * `highWater` is the only (conservative) guide.
   */
  readonly marks?: TableMarks;
}

/** Files a version replaced, with when; deleted once the grace period has passed. */
export interface RetiredFiles {
  readonly files: readonly string[];
  /** Epoch milliseconds of the commit that replaced them. */
  readonly retiredAt: number;
}

const pad = (n: number): string => String(n).padStart(10, '0');

/** State-store keys of one table. */
export function manifestKeys(t: TableRef): { readonly head: string; readonly versions: string; readonly retired: string; version(n: number): string; retiredAt(n: number): string } {
  const base = `current/${tableId(t)}/`;
  return {
    head: `${base}head`,
    versions: `${base}versions/`,
    retired: `${base}retired/`,
    version: (n) => `${base}versions/${pad(n)}`,
    retiredAt: (n) => `${base}retired/${pad(n)}`,
  };
}

/** Lake prefix of a table's current-state objects (ends with `/`). */
export function currentPrefix(t: TableRef): string {
  return `databases/${t.source}/${t.schema}/${t.table}/current/`;
}

/** Object key of a bucket file written for `version` by one merge attempt. */
export function dataFileKey(t: TableRef, bucket: number, version: number, attempt: string): string {
  return `${currentPrefix(t)}data/b${String(bucket).padStart(4, '0')}/v${pad(version)}-${attempt}.parquet`;
}

/** Lake key of a version's published manifest (`current/metadata/v<N>.json`). */
export function metadataKey(t: TableRef, version: number): string {
  return `${currentPrefix(t)}metadata/v${pad(version)}.json`;
}

/** Version number encoded in a data file key, or undefined when the key is not one. */
export function versionOfDataKey(key: string): number | undefined {
  const m = /\/v(\d{10})-[0-9a-f]+\.parquet$/.exec(key);
  return m === null ? undefined : Number(m[1]);
}

/** The empty version 0 of a table. */
export function emptyManifest(t: TableRef, buckets: number): Manifest {
  return { format: 1, table: { source: t.source, schema: t.schema, table: t.table }, version: 0, buckets, schemaVersion: 0, highWater: null, files: [], rows: 0, checkpoint: null, committedAt: new Date(0).toISOString(), sourceCommitTime: null };
}

/** The readable version of a table, or undefined before its first merge. */
export async function loadManifest(store: StateStore, t: TableRef): Promise<Manifest | undefined> {
  const keys = manifestKeys(t);
  const head = (await store.get(keys.head)) as { version: number } | undefined;
  if (head === undefined) return undefined;
  return (await store.get(keys.version(head.version))) as unknown as Manifest | undefined;
}

/** Every table with a current-state manifest (from the `current/<table>/head` keys). */
export async function listCurrentTables(store: StateStore): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const { key, value } of await store.list('current/')) {
    if (!key.endsWith('/head')) continue;
    const m = (await store.get(`${key.slice(0, -'head'.length)}versions/${pad((value as { version: number }).version)}`)) as unknown as Manifest | undefined;
    if (m !== undefined) out.push(m);
  }
  return out;
}

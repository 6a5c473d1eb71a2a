/**
 * DuckDB reads and writes local files; the lake may be S3. These helpers give DuckDB a local
 * path for a lake object: the object's own path on a local-directory lake (no copy), a
 * downloaded temporary copy otherwise.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObjectStore } from '../object-store.ts';

/** The part of FsObjectStore that maps keys to local paths. */
interface LocalPaths {
  pathOf(key: string): string;
}

function hasLocalPaths(store: ObjectStore): store is ObjectStore & LocalPaths {
  return typeof (store as Partial<LocalPaths>).pathOf === 'function';
}

/** A local path for `key`, and a function that releases it (deletes a downloaded copy). */
export async function localCopy(lake: ObjectStore, key: string, tmpDir: string): Promise<{ readonly path: string; release(): Promise<void> }> {
  if (hasLocalPaths(lake)) return { path: lake.pathOf(key), release: async () => {} };
  const path = join(tmpDir, `${randomBytes(8).toString('hex')}.parquet`);
  await writeFile(path, await lake.get(key));
  return { path, release: () => rm(path, { force: true }) };
}

/** A fresh local path under `tmpDir` to write a file to before {@link uploadFile}. */
export function tempPath(tmpDir: string): string {
  return join(tmpDir, `${randomBytes(8).toString('hex')}.parquet`);
}

/** Puts a local file into the lake at `key` (atomically, as every store's put is) and deletes it. */
export async function uploadFile(lake: ObjectStore, path: string, key: string): Promise<number> {
  const body = await readFile(path);
  try {
    return (await lake.put(key, body, { contentType: 'application/vnd.apache.parquet' })).size;
  } finally {
    await rm(path, { force: true });
  }
}

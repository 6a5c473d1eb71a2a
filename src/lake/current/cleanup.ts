/**
 * Publication of the readable version into the lake, and removal of current-state files
 * nobody can read any more.
 *
 * Publication: `current/metadata/v<N>.json` (the manifest) and `current/metadata/latest.json`
 * (the same, for engines that know nothing of Hydrant's state store: read it, then read exactly
 * its `files`). It happens here, after the commit and before anything is deleted, so a merge
 * that died between its commit and this step is published by the next one, and `latest.json`
 * never names a file that was deleted while it was current.
 *
 * Removal:
 * - files a merge replaced, once the grace period since that merge has passed (readers that
 *   started on the old version had that long to finish), together with the old manifest;
 * - files of a merge that died before its commit: their version is at or below the readable
 *   version, yet no kept manifest lists them, so no commit can ever reference them.
 * Files of versions above the readable one may belong to a merge still running; they stay.
 */
import type { StateStore } from '../../state/state-store.ts';
import type { ObjectStore } from '../object-store.ts';
import { currentPrefix, manifestKeys, metadataKey, versionOfDataKey, type Manifest, type RetiredFiles, type TableRef } from './manifest.ts';

/** Deletes what the grace period and failed merges left; returns how many objects it deleted. */
export async function cleanupTable(opts: { readonly state: StateStore; readonly lake: ObjectStore; readonly table: TableRef; readonly graceMs: number; readonly now: number }): Promise<{ readonly deleted: number }> {
  const { state, lake, table } = opts;
  const keys = manifestKeys(table);
  const head = (await state.get(keys.head)) as { version: number } | undefined;
  if (head === undefined) return { deleted: 0 };
  const current = (await state.get(keys.version(head.version))) as unknown as Manifest | undefined;
  if (current !== undefined) {
    const body = Buffer.from(JSON.stringify(current, null, 2) + '\n');
    await lake.put(metadataKey(table, head.version), body, { contentType: 'application/json' });
    await lake.put(`${currentPrefix(table)}metadata/latest.json`, body, { contentType: 'application/json' });
  }
  let deleted = 0;
  for (const { key, value } of await state.list(keys.retired)) {
    const v = Number(key.slice(keys.retired.length));
    const r = value as unknown as RetiredFiles;
    if (r.retiredAt + opts.graceMs > opts.now) continue;
    for (const f of r.files) {
      await lake.delete(f);
      deleted++;
    }
    // The manifest before version v is what those files belonged to; nobody may start reading it now.
    await state.commit([
      { type: 'delete', key },
      { type: 'delete', key: keys.version(v - 1) },
    ]);
    await lake.delete(metadataKey(table, v - 1));
  }
  const referenced = new Set<string>();
  for (const { value } of await state.list(keys.versions)) for (const f of (value as unknown as Manifest).files) referenced.add(f.key);
  for (const { value } of await state.list(keys.retired)) for (const f of (value as unknown as RetiredFiles).files) referenced.add(f);
  for (const o of await lake.list(`${currentPrefix(table)}data/`)) {
    const v = versionOfDataKey(o.key);
    if (v === undefined || v > head.version || referenced.has(o.key)) continue;
    await lake.delete(o.key);
    deleted++;
  }
  return { deleted };
}

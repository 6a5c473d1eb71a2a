/**
 * The atomic switch of a current-state table to a new version: the manifest, the list of files
 * it replaced and the `head` pointer in one state-store transaction, conditional on `head`
 * still being the version the merge started from. Shared by both merge paths.
 */
import { crashPoint } from '../../core/crash.ts';
import type { StateStore, StateValue } from '../../state/state-store.ts';
import { manifestKeys, type Manifest, type ManifestFile } from './manifest.ts';
import type { TableMarks } from './shard-marks.ts';

/** What a merge produced, to be committed on top of `head`. */
export interface NewVersion {
  readonly head: Manifest;
  /** Buckets whose old file is replaced (rewritten or emptied). */
  readonly rewritten: ReadonlySet<number>;
  readonly written: readonly ManifestFile[];
  readonly schemaVersion: number;
  readonly highWater: string | null;
  readonly sourceCommitTime: string | null;
  readonly checkpoint: StateValue;
  readonly now: number;
  /** Per-shard marks of the new version; undefined drops them (a merge of bare events cannot keep them exact). */
  readonly marks?: TableMarks | undefined;
}

/** Commits the new version and returns its manifest and how many old files it kept. */
export async function commitVersion(state: StateStore, v: NewVersion): Promise<{ readonly manifest: Manifest; readonly kept: number }> {
  const { head } = v;
  const kept = head.files.filter((f) => !v.rewritten.has(f.bucket));
  const files = [...kept, ...v.written].sort((a, b) => a.bucket - b.bucket);
  const highWater = v.highWater === null || (head.highWater !== null && head.highWater > v.highWater) ? head.highWater : v.highWater;
  const version = head.version + 1;
  const manifest: Manifest = {
    format: 1,
    table: head.table,
    version,
    buckets: head.buckets,
    schemaVersion: v.schemaVersion,
    highWater,
    files,
    rows: files.reduce((n, f) => n + f.rows, 0),
    checkpoint: v.checkpoint,
    committedAt: new Date(v.now).toISOString(),
    // A lagging shard's changes can be older than what the table shows: keep the newest.
    sourceCommitTime: v.sourceCommitTime === null || (head.sourceCommitTime !== null && head.sourceCommitTime > v.sourceCommitTime) ? head.sourceCommitTime : v.sourceCommitTime,
    ...(v.marks === undefined ? {} : { marks: v.marks }),
  };
  const replaced = head.files.filter((f) => v.rewritten.has(f.bucket)).map((f) => f.key);
  crashPoint('current.merge.files-written');
  const keys = manifestKeys(head.table);
  await state.commit(
    [
      { type: 'put', key: keys.version(version), value: manifest as unknown as StateValue },
      { type: 'put', key: keys.retiredAt(version), value: { files: replaced, retiredAt: v.now } },
      { type: 'put', key: keys.head, value: { version } },
    ],
    [{ key: keys.head, equals: head.version === 0 ? undefined : { version: head.version } }],
  );
  crashPoint('current.merge.manifest-committed');
  return { manifest, kept: kept.length };
}

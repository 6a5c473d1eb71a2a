/**
 * `<data_dir>/streams/<stream>/stream.json`: a stream's shard layout and lineage, replaced
 * atomically (write temp, fsync, rename, fsync directory) on every change.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptionError } from '../../core/errors.ts';
import type { StreamDescription } from '../stream-log.ts';
import { syncDir } from './segment-files.ts';

/** `stream.json` format version written and read. */
export const STREAM_META_VERSION = 1;

/** One shard in the metadata file. */
export interface ShardMeta {
  readonly shardId: string;
  /** Inclusive decimal hash-key bounds. */
  readonly start: string;
  readonly end: string;
  readonly parentShardIds: readonly string[];
  closed: boolean;
  readonly createdAt: number;
  /** Set when the shard closed: its last sequence, kept even after retention deletes its files. */
  readonly lastSequence?: number;
}

/** The content of `stream.json`. */
export interface StreamMeta {
  readonly version: number;
  readonly name: string;
  readonly createdAt: number;
  nextShardIndex: number;
  shards: ShardMeta[];
}

/** Kinesis-style shard id: `shardId-000000000007`. */
export function shardIdFor(index: number): string {
  return `shardId-${String(index).padStart(12, '0')}`;
}

/** Reads a stream's metadata. */
export async function readStreamMeta(dir: string): Promise<StreamMeta> {
  const file = join(dir, 'stream.json');
  const text = await readFile(file, 'utf8');
  let meta: StreamMeta;
  try {
    meta = JSON.parse(text) as StreamMeta;
  } catch (err) {
    throw new CorruptionError(`stream metadata ${file} is not valid JSON (${(err as Error).message}); restore it from a backup.`, { file });
  }
  if (meta.version !== STREAM_META_VERSION) throw new CorruptionError(`stream metadata ${file} has format version ${String(meta.version)}, this Hydrant reads version ${STREAM_META_VERSION}; upgrade Hydrant.`, { file });
  return meta;
}

/** Replaces a stream's metadata durably. */
export async function writeStreamMeta(dir: string, meta: StreamMeta): Promise<void> {
  const file = join(dir, 'stream.json');
  await writeFile(`${file}.tmp`, JSON.stringify(meta, null, 2) + '\n', { flush: true });
  await rename(`${file}.tmp`, file);
  await syncDir(dir);
}

/** The public description of a stream. */
export function describeMeta(meta: StreamMeta): StreamDescription {
  return {
    name: meta.name,
    createdAt: meta.createdAt,
    shards: meta.shards.map((s) => ({ shardId: s.shardId, hashKeyRange: { start: s.start, end: s.end }, parentShardIds: [...s.parentShardIds], closed: s.closed })),
  };
}

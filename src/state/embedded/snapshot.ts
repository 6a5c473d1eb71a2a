/**
 * Snapshots: the full key space as of the start of a generation, written to a temp file,
 * fsync'd, renamed into place and the directory fsync'd, so a snapshot is either absent or
 * whole. Layout: header frame, then chunks of `[key, value]` pairs, then an end frame with
 * the count (a snapshot without it was cut short and is rejected).
 */
import { open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crashPoint } from '../../core/crash.ts';
import { CorruptionError } from '../../core/errors.ts';
import { encodeFrame, encodeJsonFrame, scanFrames } from './frame.ts';
import { SNAPSHOT_FORMAT, STATE_FORMAT_VERSION, fsyncDir, headerProblem } from './files.ts';

const CHUNK_ENTRIES = 2000;

/**
 * Writes a snapshot atomically. `entries` yields keys in order with their values as JSON text.
 * Resolves to the snapshot's size in bytes.
 */
export async function writeSnapshot(path: string, generation: number, entries: Iterable<readonly [string, string]>): Promise<number> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  let pos = 0;
  try {
    const put = async (frame: Buffer): Promise<void> => {
      let done = 0;
      while (done < frame.length) done += (await fh.write(frame, done, frame.length - done, pos + done)).bytesWritten;
      pos += frame.length;
    };
    await put(encodeFrame({ format: SNAPSHOT_FORMAT, version: STATE_FORMAT_VERSION, generation }));
    let chunk: string[] = [];
    let count = 0;
    for (const [k, v] of entries) {
      chunk.push(`[${JSON.stringify(k)},${v}]`);
      count++;
      if (chunk.length >= CHUNK_ENTRIES) {
        await put(encodeJsonFrame(`{"entries":[${chunk.join(',')}]}`));
        chunk = [];
      }
    }
    if (chunk.length > 0) await put(encodeJsonFrame(`{"entries":[${chunk.join(',')}]}`));
    await put(encodeFrame({ end: true, count }));
    await fh.datasync();
  } finally {
    await fh.close();
  }
  crashPoint('state.snapshot.before-rename');
  await rename(tmp, path);
  await fsyncDir(dirname(path));
  return pos;
}

/** Reads a whole snapshot into key → JSON text (and its size); any damage is a CorruptionError. */
export async function readSnapshot(path: string, generation: number): Promise<{ values: Map<string, string>; bytes: number }> {
  const buf = await readFile(path);
  const scan = scanFrames(buf);
  const fail = (what: string): never => {
    throw new CorruptionError(`state snapshot ${path} ${what}; the state cannot be rebuilt from it. Restore the data_dir from a backup.`, { path });
  };
  if (scan.stop !== undefined) fail(`is damaged at byte ${scan.stop.offset} (${scan.stop.reason})`);
  const [header, ...rest] = scan.payloads;
  const problem = headerProblem(header, SNAPSHOT_FORMAT, generation);
  if (problem !== undefined) fail(problem);
  const end = rest.pop() as { end?: unknown; count?: unknown } | undefined;
  if (end === undefined || end.end !== true) fail('has no end frame');
  const out = new Map<string, string>();
  for (const chunk of rest) {
    const entries = (chunk as { entries?: unknown }).entries;
    if (!Array.isArray(entries)) fail('holds a frame that is not a chunk of entries');
    for (const e of entries as unknown[]) {
      if (!Array.isArray(e) || typeof e[0] !== 'string') fail('holds a malformed entry');
      out.set((e as [string, unknown])[0], JSON.stringify((e as [string, unknown])[1]));
    }
  }
  if (out.size !== (end as { count: unknown }).count) fail(`holds ${out.size} keys but its end frame says ${String((end as { count: unknown }).count)}`);
  return { values: out, bytes: buf.length };
}

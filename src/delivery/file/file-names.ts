/**
 * Deterministic names of the file delivery's output: one file per (delivery, shard, first..last
 * sequence), so a retry after a crash rewrites the same file instead of adding a duplicate.
 */

/** Sequences are zero-padded to at least this width so names sort in sequence order. */
const SEQ_WIDTH = 20;

/** The file name for records `first..last` of `shardId`. */
export function outputFileName(delivery: string, shardId: string, first: string, last: string): string {
  return `${delivery}-${shardId}-${first.padStart(SEQ_WIDTH, '0')}-${last.padStart(SEQ_WIDTH, '0')}.jsonl`;
}

/** Parses a name made by {@link outputFileName}; undefined for anything else. */
export function parseOutputFileName(delivery: string, shardId: string, name: string): { first: string; last: string } | undefined {
  const prefix = `${delivery}-${shardId}-`;
  if (!name.startsWith(prefix) || !name.endsWith('.jsonl')) return undefined;
  const m = /^(\d+)-(\d+)$/.exec(name.slice(prefix.length, -'.jsonl'.length));
  if (m === null) return undefined;
  return { first: stripZeros(m[1] as string), last: stripZeros(m[2] as string) };
}

function stripZeros(s: string): string {
  return s.replace(/^0+(?=\d)/, '');
}

/** Prefix of in-flight files; readers ignore names starting with a dot. */
export const TEMP_PREFIX = '.tmp-';

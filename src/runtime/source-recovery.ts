/**
 * Recovery of a source's position after a crash between "append" and "position commit".
 *
 * The runner appends a batch (durable), then commits `sources/<name>/position` together with
 * the stream's per-shard sequences (`sources/<name>/shards`) in one state transaction. If the
 * process dies in between, the stream holds records whose position the state store does not
 * know. On start we therefore read every shard AFTER the stored sequence, decode the envelopes,
 * and take the highest `source.position` among this source's records. The source resumes from
 * max(stored, found), and the runner drops anything the source re-sends at or below it, so the
 * stream holds every source position exactly once.
 */
import { decodeEnvelope } from '../core/change-event.ts';
import type { Logger } from '../core/logger.ts';
import type { StateStore } from '../state/state-store.ts';
import type { ShardIterator, StreamLog } from '../stream/stream-log.ts';
import { sourcePositionKey, sourceShardsKey } from './state-keys.ts';

/** What recovery found. */
export interface RecoveredPosition {
  /** Position to resume after (null = from the beginning). */
  readonly position: string | null;
  /** The position committed in the state store (null = none). */
  readonly stored: string | null;
  /** Last sequence seen per shard (stored ones, advanced by the scan). */
  readonly shards: Readonly<Record<string, string>>;
  /** Records of this source found after the stored sequences. */
  readonly foundRecords: number;
}

/** Reads the stored position and scans the stream's tail for records appended after it. */
export async function recoverSourcePosition(state: StateStore, log: StreamLog, stream: string, source: string, logger: Logger): Promise<RecoveredPosition> {
  const storedRaw = await state.get(sourcePositionKey(source));
  const stored = typeof storedRaw === 'string' ? storedRaw : null;
  const storedShards = await state.get(sourceShardsKey(source));
  const shards: Record<string, string> = storedShards !== null && typeof storedShards === 'object' && !Array.isArray(storedShards) ? { ...(storedShards as Record<string, string>) } : {};
  let position = stored;
  let foundRecords = 0;
  const desc = await log.describeStream(stream);
  for (const shard of desc.shards) {
    const after = shards[shard.shardId];
    let from: ShardIterator = after === undefined ? { type: 'TRIM_HORIZON' } : { type: 'AFTER_SEQUENCE_NUMBER', sequence: after };
    for (;;) {
      const res = await log.read(stream, shard.shardId, from, { maxRecords: 1000 });
      for (const r of res.records) {
        shards[shard.shardId] = r.sequence;
        let pos: string;
        let name: string;
        try {
          const e = decodeEnvelope(r.data);
          pos = e.source.position;
          name = e.source.name;
        } catch {
          continue; // not ours to judge here; the delivery side reports undecodable records
        }
        if (name !== source || pos === '') continue;
        foundRecords++;
        if (position === null || pos > position) position = pos;
      }
      if (res.records.length === 0 || res.next === null) break;
      from = res.next;
    }
  }
  if (foundRecords > 0) logger.info('source recovery: found records appended after the last position commit', { source, stored, resumeAfter: position, records: foundRecords });
  return { position, stored, shards, foundRecords };
}

/**
 * Recovery of a source's position after a crash between "append" and "position commit".
 *
 * The runner appends a batch (durable), then commits `sources/<name>/position` together with
 * the stream's per-shard sequences (`sources/<name>/shards`) in one state transaction. If the
 * process dies in between, the stream holds records whose position the state store does not
 * know. On start we therefore read every shard AFTER the stored sequence, decode the envelopes,
 * and collect the exact set of this source's positions found there.
 *
 * The source resumes from the STORED position, and the runner drops a re-sent event only when
 * its position is in that set. Resuming from the highest position found would be wrong: one
 * append spans several shards, and a crash can leave it durable on some shards and not on
 * others, so positions below the highest found can be missing (the random-kill crash test
 * caught exactly this). Until the committed position passes the highest found, the per-shard
 * scan start stays where it was, so a second crash finds the same records again.
 */
import { decodeEnvelope } from '../core/change-event.ts';
import type { Logger } from '../core/logger.ts';
import type { StateStore } from '../state/state-store.ts';
import type { ShardIterator, StreamLog } from '../stream/stream-log.ts';
import { sourcePositionKey, sourceShardsKey } from './state-keys.ts';

/** What recovery found. */
export interface RecoveredPosition {
  /** The position committed in the state store, where the source resumes (null = none). */
  readonly stored: string | null;
  /** Per-shard sequences stored with that position: where the recovery scan starts. */
  readonly storedShards: Readonly<Record<string, string>>;
  /** Last sequence seen per shard (stored ones, advanced by the scan). */
  readonly shards: Readonly<Record<string, string>>;
  /** Positions of this source already in the stream after the stored sequences. */
  readonly found: ReadonlySet<string>;
  /** Highest of `found` (null when none). */
  readonly maxFound: string | null;
}

/** Reads the stored position and scans the stream's tail for records appended after it. */
export async function recoverSourcePosition(state: StateStore, log: StreamLog, stream: string, source: string, logger: Logger): Promise<RecoveredPosition> {
  const storedRaw = await state.get(sourcePositionKey(source));
  const stored = typeof storedRaw === 'string' ? storedRaw : null;
  const storedShards = await state.get(sourceShardsKey(source));
  const initial: Record<string, string> = storedShards !== null && typeof storedShards === 'object' && !Array.isArray(storedShards) ? { ...(storedShards as Record<string, string>) } : {};
  const shards: Record<string, string> = { ...initial };
  const found = new Set<string>();
  let maxFound: string | null = null;
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
        if (stored !== null && pos <= stored) continue;
        found.add(pos);
        if (maxFound === null || pos > maxFound) maxFound = pos;
      }
      if (res.records.length === 0 || res.next === null) break;
      from = res.next;
    }
  }
  if (found.size > 0) logger.info('source recovery: found records appended after the last position commit; re-sent copies of them will be dropped', { source, stored, maxFound, records: found.size });
  return { stored, storedShards: initial, shards, found, maxFound };
}

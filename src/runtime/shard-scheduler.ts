/**
 * Which shards of a stream a delivery reads, and when. After a split or merge, a child shard
 * holds keys whose older records are still in its parent(s); reading the child first would
 * break per-key order. The scheduler therefore starts a consumer loop only for shards that are
 * readable now (`readableShards`: every parent still in the description was read to its end),
 * and re-plans whenever a loop reads a closed shard to its end — that is also how children of a
 * reshard made while running are discovered.
 */
import { sleep } from './backoff.ts';
import { endedShards, listStreamCheckpoints } from '../stream/consumer-checkpoints.ts';
import { readableShards } from '../stream/readable-shards.ts';
import type { StateStore } from '../state/state-store.ts';
import type { StreamLog } from '../stream/stream-log.ts';

/** What the scheduler needs. */
export interface ShardSchedulerDeps {
  readonly log: StreamLog;
  readonly state: StateStore;
  readonly stream: string;
  readonly consumer: string;
  /** Runs one shard's loop to its end; resolves `ended` when a closed shard was read fully. */
  readonly runShard: (shardId: string) => Promise<'ended' | 'idle' | 'aborted'>;
}

/** Runs the consumer loops of one delivery on one stream; resolves when every loop finished. */
export async function runShardScheduler(d: ShardSchedulerDeps): Promise<void> {
  const started = new Set<string>();
  const ended = new Set<string>();
  const running = new Set<Promise<void>>();
  const plan = async (): Promise<void> => {
    let desc = await d.log.describeStream(d.stream);
    // A shard can read as ended (closed for appends) a moment before the description that
    // lists its children is published; wait for that description rather than plan on a stale one.
    while ([...ended].some((id) => desc.shards.find((s) => s.shardId === id)?.closed === false)) {
      await sleep(20);
      desc = await d.log.describeStream(d.stream);
    }
    const checkpoints = (await listStreamCheckpoints(d.state, d.stream)).get(d.consumer) ?? new Map();
    const done = await endedShards(d.log, d.stream, desc, checkpoints);
    for (const e of ended) done.add(e);
    for (const id of readableShards(desc, done)) {
      if (started.has(id)) continue;
      started.add(id);
      const p = d.runShard(id).then(async (reason) => {
        if (reason === 'ended') {
          ended.add(id);
          await plan();
        }
      });
      running.add(p);
      void p.finally(() => running.delete(p)).catch(() => {});
    }
  };
  await plan();
  // Loops started while waiting are picked up by the next round.
  while (running.size > 0) await Promise.all([...running]);
}

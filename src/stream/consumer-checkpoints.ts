/**
 * Named consumers' per-shard checkpoints, kept in a {@link StateStore} under
 * `consumers/<stream>/<consumer>/<shard>`. The stored value is the sequence processed last
 * (a string; the consumer resumes AFTER it), the same format the pipeline runner's delivery
 * loops write, or `null` for a registered consumer that starts at TRIM_HORIZON. Any position
 * can be stored this way because sequences are integers: "at s" equals "after s - 1".
 */
import { HydrantError } from '../core/errors.ts';
import type { StateOp, StateStore, StateValue } from '../state/state-store.ts';
import type { ShardIterator, StreamDescription, StreamLog } from './stream-log.ts';

/** A stored checkpoint: the last processed sequence, or null (nothing processed). */
export interface Checkpoint {
  readonly after: string | null;
}

/** Where to reset a consumer. */
export type ResetTarget =
  | { readonly type: 'TRIM_HORIZON' }
  | { readonly type: 'LATEST' }
  | { readonly type: 'AT_TIMESTAMP'; readonly timestamp: number }
  | { readonly type: 'AT_SEQUENCE_NUMBER'; readonly sequence: string }
  | { readonly type: 'AFTER_SEQUENCE_NUMBER'; readonly sequence: string };

const CONSUMER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** The state-store key of a consumer's checkpoint on a shard. */
export function checkpointKey(stream: string, consumer: string, shardId: string): string {
  return `consumers/${stream}/${consumer}/${shardId}`;
}

/** The iterator a checkpoint resumes from (TRIM_HORIZON when there is none). */
export function checkpointIterator(c: Checkpoint | undefined): ShardIterator {
  return c === undefined || c.after === null ? { type: 'TRIM_HORIZON' } : { type: 'AFTER_SEQUENCE_NUMBER', sequence: c.after };
}

/** The first sequence a checkpoint has not read yet (0n = everything is unread). */
export function firstUnread(c: Checkpoint | undefined): bigint {
  return c === undefined || c.after === null ? 0n : BigInt(c.after) + 1n;
}

function decode(v: StateValue | undefined): Checkpoint | undefined {
  if (typeof v === 'string' && /^[0-9]+$/.test(v)) return { after: v };
  if (v === null) return { after: null };
  return undefined;
}

/** Every consumer's checkpoints of a stream: consumer → shard → checkpoint. */
export async function listStreamCheckpoints(state: StateStore, stream: string): Promise<Map<string, Map<string, Checkpoint>>> {
  const out = new Map<string, Map<string, Checkpoint>>();
  const prefix = `consumers/${stream}/`;
  for (const { key, value } of await state.list(prefix)) {
    const [consumer, shardId, extra] = key.slice(prefix.length).split('/');
    const c = decode(value);
    if (consumer === undefined || shardId === undefined || extra !== undefined || c === undefined) continue;
    let m = out.get(consumer);
    if (m === undefined) out.set(consumer, (m = new Map()));
    m.set(shardId, c);
  }
  return out;
}

/**
 * The closed shards a consumer has read to their end (its checkpoint reached the shard's last
 * sequence, or the shard holds nothing). Feed the result to `readableShards`.
 */
export async function endedShards(log: StreamLog, stream: string, description: StreamDescription, checkpoints: ReadonlyMap<string, Checkpoint>): Promise<Set<string>> {
  const out = new Set<string>();
  for (const s of description.shards) {
    if (!s.closed) continue;
    const r = await log.read(stream, s.shardId, checkpointIterator(checkpoints.get(s.shardId)), { maxRecords: 1 });
    if (r.records.length === 0) out.add(s.shardId);
  }
  return out;
}

/** One named consumer's checkpoints on one stream. */
export class ConsumerCheckpoints {
  readonly #state: StateStore;
  readonly stream: string;
  readonly consumer: string;

  constructor(state: StateStore, stream: string, consumer: string) {
    if (!CONSUMER.test(consumer)) throw new HydrantError('INVALID_CONSUMER_NAME', `consumer name ${JSON.stringify(consumer)} is invalid: use 1-128 letters, digits, '_', '.', '-'.`);
    this.#state = state;
    this.stream = stream;
    this.consumer = consumer;
  }

  /** The checkpoint on a shard, or undefined (= start at TRIM_HORIZON). */
  async get(shardId: string): Promise<Checkpoint | undefined> {
    return decode(await this.#state.get(checkpointKey(this.stream, this.consumer, shardId)));
  }

  /** Every checkpoint of this consumer, by shard id. */
  async all(): Promise<Map<string, Checkpoint>> {
    return (await listStreamCheckpoints(this.#state, this.stream)).get(this.consumer) ?? new Map();
  }

  /**
   * Registers the consumer: writes a `null` (TRIM_HORIZON) checkpoint for every shard that has
   * none, so retention counts it as a reader of everything not yet read.
   */
  async register(description: StreamDescription): Promise<void> {
    const have = await this.all();
    const ops: StateOp[] = description.shards.filter((s) => !have.has(s.shardId)).map((s) => ({ type: 'put', key: checkpointKey(this.stream, this.consumer, s.shardId), value: null }));
    if (ops.length > 0) await this.#state.commit(ops);
  }

  /** The put op recording "processed up to `sequence`" (to combine with other writes atomically). */
  commitOp(shardId: string, sequence: string): StateOp {
    return { type: 'put', key: checkpointKey(this.stream, this.consumer, shardId), value: sequence };
  }

  /** Records that everything up to `sequence` was processed. */
  async commit(shardId: string, sequence: string): Promise<void> {
    await this.#state.commit([this.commitOp(shardId, sequence)]);
  }

  /**
   * Moves the consumer on every shard of the stream (or only `shardIds`) to a position. LATEST
   * and AT_TIMESTAMP are resolved against the log now.
   */
  async reset(log: StreamLog, target: ResetTarget, shardIds?: readonly string[]): Promise<Map<string, Checkpoint>> {
    const desc = await log.describeStream(this.stream);
    const ops: StateOp[] = [];
    const out = new Map<string, Checkpoint>();
    for (const s of desc.shards) {
      if (shardIds !== undefined && !shardIds.includes(s.shardId)) continue;
      let after: string | null;
      if (target.type === 'TRIM_HORIZON') after = null;
      else if (target.type === 'AFTER_SEQUENCE_NUMBER') after = target.sequence;
      else if (target.type === 'AT_SEQUENCE_NUMBER') after = predecessor(target.sequence);
      else {
        const first = target.type === 'AT_TIMESTAMP' ? (await log.read(this.stream, s.shardId, { type: 'AT_TIMESTAMP', timestamp: target.timestamp }, { maxRecords: 1 })).records[0] : undefined;
        after = first !== undefined ? predecessor(first.sequence) : await latest(log, this.stream, s.shardId);
      }
      out.set(s.shardId, { after });
      ops.push({ type: 'put', key: checkpointKey(this.stream, this.consumer, s.shardId), value: after });
    }
    if (ops.length > 0) await this.#state.commit(ops);
    return out;
  }

  /** Forgets the consumer on this stream. */
  async delete(): Promise<void> {
    const all = await this.all();
    await this.#state.commit([...all.keys()].map((shardId) => ({ type: 'delete', key: checkpointKey(this.stream, this.consumer, shardId) })));
  }
}

/** "at s" stored as "after s-1", keeping the width of fixed-width sequences. */
function predecessor(sequence: string): string | null {
  const n = BigInt(sequence);
  return n === 0n ? null : (n - 1n).toString().padStart(sequence.length, '0');
}

async function latest(log: StreamLog, stream: string, shardId: string): Promise<string | null> {
  const info = await log.shardInfo?.(stream, shardId);
  if (info !== undefined) return info.lastSequence;
  const r = await log.read(stream, shardId, { type: 'LATEST' });
  return r.next?.type === 'AFTER_SEQUENCE_NUMBER' ? r.next.sequence : null;
}

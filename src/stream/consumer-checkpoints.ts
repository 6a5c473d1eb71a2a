/**
 * Named consumers' per-shard checkpoints, kept in a {@link StateStore} under
 * `consumers/<stream>/<consumer>/<shard>`. A checkpoint is where the consumer resumes:
 * `TRIM_HORIZON`, `AT_SEQUENCE_NUMBER s` or `AFTER_SEQUENCE_NUMBER s` (what `commit` writes
 * after processing up to `s`), plus `ended` once a closed shard was read to its end (which
 * is what lets the consumer move on to that shard's children).
 */
import { HydrantError } from '../core/errors.ts';
import type { StateOp, StateStore, StateValue } from '../state/state-store.ts';
import type { ShardIterator, StreamDescription, StreamLog } from './stream-log.ts';

/** A stored checkpoint. */
export interface Checkpoint {
  readonly position: { readonly type: 'TRIM_HORIZON' } | { readonly type: 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER'; readonly sequence: string };
  /** The shard is closed and was read to its end. */
  readonly ended: boolean;
  /** Epoch ms of the last update. */
  readonly updatedAt: number;
}

/** Where to reset a consumer. */
export type ResetTarget = { readonly type: 'TRIM_HORIZON' } | { readonly type: 'LATEST' } | { readonly type: 'AT_TIMESTAMP'; readonly timestamp: number } | { readonly type: 'AT_SEQUENCE_NUMBER'; readonly sequence: string } | { readonly type: 'AFTER_SEQUENCE_NUMBER'; readonly sequence: string };

const CONSUMER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** The state-store key of a consumer's checkpoint on a shard. */
export function checkpointKey(stream: string, consumer: string, shardId: string): string {
  return `consumers/${stream}/${consumer}/${shardId}`;
}

/** The iterator a checkpoint resumes from. */
export function checkpointIterator(c: Checkpoint | undefined): ShardIterator {
  return c === undefined ? { type: 'TRIM_HORIZON' } : c.position;
}

/** The first sequence a checkpoint has not read yet (0n = everything is unread). */
export function firstUnread(c: Checkpoint | undefined): bigint {
  if (c === undefined || c.position.type === 'TRIM_HORIZON') return 0n;
  return BigInt(c.position.sequence) + (c.position.type === 'AFTER_SEQUENCE_NUMBER' ? 1n : 0n);
}

function decode(v: StateValue | undefined): Checkpoint | undefined {
  if (v === undefined || v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  return v as unknown as Checkpoint;
}

/** Every consumer's checkpoints of a stream: consumer → shard → checkpoint. */
export async function listStreamCheckpoints(state: StateStore, stream: string): Promise<Map<string, Map<string, Checkpoint>>> {
  const out = new Map<string, Map<string, Checkpoint>>();
  const prefix = `consumers/${stream}/`;
  for (const { key, value } of await state.list(prefix)) {
    const [consumer, shardId] = key.slice(prefix.length).split('/');
    const c = decode(value);
    if (consumer === undefined || shardId === undefined || c === undefined) continue;
    let m = out.get(consumer);
    if (m === undefined) out.set(consumer, (m = new Map()));
    m.set(shardId, c);
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
   * Registers the consumer: writes a TRIM_HORIZON checkpoint for every shard that has none,
   * so retention sees it as a reader of everything not yet read.
   */
  async register(description: StreamDescription): Promise<void> {
    const have = await this.all();
    const ops: StateOp[] = description.shards.filter((s) => !have.has(s.shardId)).map((s) => ({ type: 'put', key: checkpointKey(this.stream, this.consumer, s.shardId), value: encode({ position: { type: 'TRIM_HORIZON' }, ended: false, updatedAt: Date.now() }) }));
    if (ops.length > 0) await this.#state.commit(ops);
  }

  /** The put op that records "processed up to `sequence`" (to combine with other writes atomically). */
  commitOp(shardId: string, sequence: string, ended = false): StateOp {
    return { type: 'put', key: checkpointKey(this.stream, this.consumer, shardId), value: encode({ position: { type: 'AFTER_SEQUENCE_NUMBER', sequence }, ended, updatedAt: Date.now() }) };
  }

  /** Records that everything up to `sequence` was processed; `ended` when the closed shard is done. */
  async commit(shardId: string, sequence: string, ended = false): Promise<void> {
    await this.#state.commit([this.commitOp(shardId, sequence, ended)]);
  }

  /** Marks a closed shard read to its end without moving its position. */
  async markEnded(shardId: string): Promise<void> {
    const c = await this.get(shardId);
    await this.#state.commit([{ type: 'put', key: checkpointKey(this.stream, this.consumer, shardId), value: encode({ position: c?.position ?? { type: 'TRIM_HORIZON' }, ended: true, updatedAt: Date.now() }) }]);
  }

  /**
   * Moves the consumer on every shard of the stream (or only `shardIds`) to a position. LATEST
   * and AT_TIMESTAMP are resolved against the log now into sequence positions.
   */
  async reset(log: StreamLog, target: ResetTarget, shardIds?: readonly string[]): Promise<Map<string, Checkpoint>> {
    const desc = await log.describeStream(this.stream);
    const ops: StateOp[] = [];
    const out = new Map<string, Checkpoint>();
    for (const s of desc.shards) {
      if (shardIds !== undefined && !shardIds.includes(s.shardId)) continue;
      let position: Checkpoint['position'];
      if (target.type === 'TRIM_HORIZON') position = target;
      else if (target.type === 'AT_SEQUENCE_NUMBER' || target.type === 'AFTER_SEQUENCE_NUMBER') position = target;
      else if (target.type === 'LATEST') {
        const r = await log.read(this.stream, s.shardId, { type: 'LATEST' });
        position = r.next !== null && r.next.type === 'AFTER_SEQUENCE_NUMBER' ? r.next : { type: 'TRIM_HORIZON' };
        if (r.next === null) {
          const info = await log.shardInfo?.(this.stream, s.shardId);
          position = info?.lastSequence == null ? { type: 'TRIM_HORIZON' } : { type: 'AFTER_SEQUENCE_NUMBER', sequence: info.lastSequence };
        }
      } else {
        const r = await log.read(this.stream, s.shardId, { type: 'AT_TIMESTAMP', timestamp: target.timestamp }, { maxRecords: 1 });
        const first = r.records[0];
        if (first !== undefined) position = { type: 'AT_SEQUENCE_NUMBER', sequence: first.sequence };
        else {
          const latest = await log.read(this.stream, s.shardId, { type: 'LATEST' });
          position = latest.next?.type === 'AFTER_SEQUENCE_NUMBER' ? latest.next : { type: 'TRIM_HORIZON' };
        }
      }
      const c: Checkpoint = { position, ended: false, updatedAt: Date.now() };
      out.set(s.shardId, c);
      ops.push({ type: 'put', key: checkpointKey(this.stream, this.consumer, s.shardId), value: encode(c) });
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

function encode(c: Checkpoint): StateValue {
  return c as unknown as StateValue;
}

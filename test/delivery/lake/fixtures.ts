/** Shared fixtures for lake delivery tests: change events, stream records and a committer. */
import type { ChangeEvent, Envelope } from '../../../src/core/change-event.ts';
import { encodeEnvelope } from '../../../src/core/change-event.ts';
import { schemaKey, type TableSchema } from '../../../src/core/schema.ts';
import { Decimal, Timestamp, type Row } from '../../../src/core/values.ts';
import type { DeliveryCommitter, DeliveryRecord } from '../../../src/delivery/delivery.ts';
import type { StateOp, StateStore, StateValue } from '../../../src/state/state-store.ts';

/** The orders table used by most tests. */
export const ORDERS: TableSchema = {
  source: 'shop', database: 'shop', schema: 'public', table: 'orders', version: 1, primaryKey: ['id'],
  columns: [
    { name: 'id', type: { kind: 'int64' }, nullable: false },
    { name: 'customer', type: { kind: 'string' }, nullable: true },
    { name: 'amount', type: { kind: 'decimal', precision: 12, scale: 2 }, nullable: true },
    { name: 'region', type: { kind: 'string' }, nullable: true },
  ],
};

export async function putSchema(state: StateStore, s: TableSchema): Promise<void> {
  await state.commit([{ type: 'put', key: schemaKey(s, s.version), value: s as unknown as StateValue }]);
}

/** An insert/update/delete of an order with id `id`, committed at `ms`. */
export function orderChange(id: number, op: ChangeEvent['op'] = 'insert', ms = Date.UTC(2024, 0, 2, 3, 4, 5), extra: Row = {}): ChangeEvent {
  const row: Row = { id: BigInt(id), customer: `c${id % 7}`, amount: new Decimal(`${id}.${String(id % 100).padStart(2, '0')}`), region: ['eu', 'us', 'ap'][id % 3] as string, ...extra };
  return {
    op,
    source: { kind: 'generator', name: 'shop', database: 'shop', schema: 'public', table: 'orders', position: String(id).padStart(12, '0'), commitTime: Timestamp.fromMillis(ms) },
    key: { id: BigInt(id) },
    before: op === 'delete' || op === 'update' ? row : null,
    after: op === 'delete' ? null : row,
    schemaVersion: 1,
  };
}

/** Wraps envelopes as delivery records of one shard with sequences from `firstSeq`. */
export function records(shard: string, envelopes: readonly Envelope[], firstSeq = 1, arrivalTime = Date.UTC(2024, 0, 2, 3, 4, 5)): DeliveryRecord[] {
  return envelopes.map((envelope, i) => ({
    envelope,
    record: { partitionKey: 'k', data: encodeEnvelope(envelope), arrivalTime, sequence: String(firstSeq + i), shardId: shard },
  }));
}

/** A committer over a state store that keeps checkpoints like the runner does. */
export class StateCommitter implements DeliveryCommitter {
  readonly #state: StateStore;
  readonly commits: Array<{ shard: string; sequence: string; ops: number }> = [];
  constructor(state: StateStore, readonly prefix = 'consumers/s/lake/') {
    this.#state = state;
  }
  async commit(shardId: string, sequence: string, ops: readonly StateOp[] = []): Promise<void> {
    const prev = await this.#state.get(this.prefix + shardId);
    if (typeof prev === 'string' && BigInt(prev) > BigInt(sequence)) throw new Error(`checkpoint of ${shardId} would go back from ${prev} to ${sequence}`);
    await this.#state.commit([...ops, { type: 'put', key: this.prefix + shardId, value: sequence }]);
    this.commits.push({ shard: shardId, sequence, ops: ops.length });
  }
  async checkpoint(shard: string): Promise<string | undefined> {
    return (await this.#state.get(this.prefix + shard)) as string | undefined;
  }
}

/**
 * Object-created notifications (`notify_stream`): after each commit an event describing every
 * new data object is appended to a stream, at least once across crashes. A pending marker
 * (`lake-notify/<delivery>/<shard>/<first>`) is committed in the same transaction as the
 * catalog entry and deleted after the append; markers left by a crash are re-sent on start.
 */
import { encodeEnvelope } from '../../core/change-event.ts';
import { HydrantError } from '../../core/errors.ts';
import { Timestamp } from '../../core/values.ts';
import { padSequence, type CatalogObject } from '../../lake/catalog/catalog.ts';
import type { StateOp, StateStore, StateValue } from '../../state/state-store.ts';
import type { StreamLog } from '../../stream/stream-log.ts';

export class ObjectNotifier {
  readonly #stream: string;
  readonly #delivery: string;
  readonly #state: StateStore;
  readonly #log: StreamLog | undefined;
  readonly #location: string;

  constructor(o: { stream: string; delivery: string; state: StateStore; log: StreamLog | undefined; location: string }) {
    this.#stream = o.stream;
    this.#delivery = o.delivery;
    this.#state = o.state;
    this.#log = o.log;
    this.#location = o.location;
  }

  #key(o: CatalogObject): string {
    return `lake-notify/${this.#delivery}/${o.shard}/${padSequence(o.firstSequence)}`;
  }

  /** Pending markers to commit with the catalog entries (data objects only). */
  pendingOps(objects: readonly CatalogObject[]): StateOp[] {
    return objects.filter((o) => o.kind !== 'errors').map((o) => ({ type: 'put', key: this.#key(o), value: o as unknown as StateValue }));
  }

  /** Appends the events of committed objects, then drops their markers. */
  async notify(objects: readonly CatalogObject[]): Promise<void> {
    const data = objects.filter((o) => o.kind !== 'errors');
    if (data.length === 0) return;
    const log = this.#log;
    if (log === undefined) throw new HydrantError('LAKE_NO_STREAM_LOG', `lake delivery ${this.#delivery}: notify_stream ${this.#stream} is set but no stream log is available to this delivery`);
    await log.ensureStream(this.#stream, { shards: 1 });
    await log.append(this.#stream, data.map((o) => ({
      partitionKey: o.key,
      data: encodeEnvelope({
        op: 'event',
        source: { kind: 'lake', name: this.#delivery, position: `${o.shard}/${padSequence(o.firstSequence)}` },
        key: o.key,
        eventTime: Timestamp.fromMillis(o.committedAt),
        data: { event: 'object_created', location: this.#location, key: o.key, table: o.table, kind: o.kind, rows: o.rows, bytes: o.bytes, shard: o.shard, firstSequence: o.firstSequence, lastSequence: o.lastSequence, partition: { ...o.partition }, schemaVersion: o.schemaVersion },
      }),
    })));
    await this.#state.commit(data.map((o) => ({ type: 'delete', key: this.#key(o) })));
  }

  /** Re-sends notifications a crash left pending. */
  async resend(): Promise<void> {
    const pending = await this.#state.list(`lake-notify/${this.#delivery}/`);
    if (pending.length > 0) await this.notify(pending.map((p) => p.value as unknown as CatalogObject));
  }
}

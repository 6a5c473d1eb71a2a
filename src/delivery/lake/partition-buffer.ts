/**
 * One open output partition: the records waiting to become one object. It keeps the records
 * and their decoded envelopes as handed over and serves the object's rows by column name
 * ({@link RowSource}), so no per-row object is built (and later collected) in between.
 */
import type { Envelope } from '../../core/change-event.ts';
import type { TableSchema } from '../../core/schema.ts';
import { Timestamp, type Row, type Value } from '../../core/values.ts';
import type { StreamRecord } from '../../stream/stream-log.ts';
import type { RowSource } from '../formats/format.ts';
import { dmsOp, imageOf, oldKeyOf, unchangedOf } from './rows.ts';

export class PartitionBuffer implements RowSource {
  /** Buffer identity: prefix + table + schema version (same on every replay of the records). */
  readonly id: string;
  readonly shard: string;
  readonly prefix: string;
  readonly kind: 'changes' | 'events';
  readonly table: string;
  readonly schemaVersion: number;
  readonly schema: TableSchema | null;
  /** Commit time of the first change (DMS object names). */
  readonly firstCommitMicros: bigint | undefined;
  readonly isLoad: boolean;
  readonly createdAt: number;
  readonly records: StreamRecord[] = [];
  readonly envelopes: Envelope[] = [];
  /** Estimated memory held, bytes. */
  bytes = 0;
  /** Whether some buffered change left columns out (TOAST-unchanged): the object gets `_unchanged`. */
  hasUnchanged = false;
  /** Whether some buffered update changed the key: the object gets `_old_key`. */
  hasOldKey = false;
  minTime = Infinity;
  maxTime = -Infinity;

  constructor(o: { id: string; shard: string; prefix: string; kind: 'changes' | 'events'; table: string; schemaVersion: number; schema: TableSchema | null; firstCommitMicros: bigint | undefined; isLoad: boolean; now: number }) {
    this.id = o.id;
    this.shard = o.shard;
    this.prefix = o.prefix;
    this.kind = o.kind;
    this.table = o.table;
    this.schemaVersion = o.schemaVersion;
    this.schema = o.schema;
    this.firstCommitMicros = o.firstCommitMicros;
    this.isLoad = o.isLoad;
    this.createdAt = o.now;
  }

  get first(): string {
    return (this.records[0] as StreamRecord).sequence;
  }

  get last(): string {
    return (this.records[this.records.length - 1] as StreamRecord).sequence;
  }

  get length(): number {
    return this.records.length;
  }

  add(record: StreamRecord, envelope: Envelope, time: number): void {
    this.records.push(record);
    this.envelopes.push(envelope);
    if (envelope.op !== 'event') {
      if (envelope.unchanged !== undefined && envelope.unchanged.length > 0) this.hasUnchanged = true;
      if (!this.hasOldKey && oldKeyOf(envelope) !== null) this.hasOldKey = true;
    }
    // Decoded envelopes take a few times their JSON size in V8; this estimate keeps the budget honest.
    this.bytes += record.data.byteLength * 3 + 64;
    if (time < this.minTime) this.minTime = time;
    if (time > this.maxTime) this.maxTime = time;
  }

  /** Row images of the buffered changes (for tables without a recorded schema). */
  *images(): Iterable<Row> {
    for (const e of this.envelopes) if (e.op !== 'event') yield imageOf(e);
  }

  value(i: number, column: string): Value {
    const e = this.envelopes[i] as Envelope;
    const r = this.records[i] as StreamRecord;
    if (e.op === 'event') {
      switch (column) {
        case '_event_time': return e.eventTime;
        case '_arrival_time': return Timestamp.fromMillis(r.arrivalTime);
        case '_key': return e.key;
        case '_source': return e.source.name;
        case '_shard': return r.shardId;
        case '_sequence': return r.sequence;
        case 'data': return e.data;
        default: return null;
      }
    }
    switch (column) {
      case '_op': return e.op;
      case '_commit_time': return e.source.commitTime;
      case '_position': return e.source.position;
      case '_shard': return r.shardId;
      case '_sequence': return r.sequence;
      case 'Op': return dmsOp(e.op);
      case '_dms_commit_timestamp': return e.source.commitTime;
      case '_unchanged': return unchangedOf(e);
      case '_old_key': return oldKeyOf(e);
      default: return imageOf(e)[column] ?? null;
    }
  }
}
